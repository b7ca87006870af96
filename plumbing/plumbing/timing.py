"""A timer whose interval is configuration (the service's config, else the
environment), so tests and deployments can tune how often a sweep runs."""
import os

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_seconds, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        configured = self.container.config.get(self.config_key) or os.environ.get(self.config_key)
        self.interval = float(configured or self.interval)


timer = ConfiguredTimer.decorator
