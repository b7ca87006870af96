"""The contract is what the gateway imports: it must not bring the domain, its models or scikit-learn along."""
import subprocess
import sys

HEAVY = ("sklearn", "numpy", "datasketch", "scipy", "sqlalchemy", "nameko")


def test_importing_the_contract_loads_no_other_module_of_the_service_and_nothing_heavy():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, monitoring.contract; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert [name for name in loaded if name.startswith("monitoring.")] == ["monitoring.contract"]
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []
