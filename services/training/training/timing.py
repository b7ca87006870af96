"""A timer whose interval is configuration, so tests can run sweeps often."""
from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_seconds, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


timer = ConfiguredTimer.decorator
