"""Stand-in for pip's get-pip.py bootstrap script, which ansible-test downloads from a host this machine
cannot reach. Installed by scripts/bootstrap as ~/.ansible/test/cache/get_pip_<version>.py.

ansible-test runs it in a new virtualenv with get-pip's arguments (pip options, the wanted packages, and
--no-setuptools/--no-wheel): install pip with the standard library's ensurepip, then let that pip install
the wanted packages from the package index."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
