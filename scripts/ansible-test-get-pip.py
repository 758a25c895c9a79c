"""Offline-friendly stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity virtual environments without pip and then runs a
``get-pip`` script fetched from a CI file server, which this project's machines cannot
reach. This script does the same job with what is at hand: it installs the pip bundled
with CPython (``ensurepip``) and then lets that pip install the requested packages
(for example ``pip==24.2``) from the package index. The Makefile copies it to the cache
path ansible-test looks at, ``~/.ansible/test/cache/get_pip_<version>.py``.
"""

import ensurepip
import importlib
import os
import runpy
import sys

# get-pip accepts these two flags of its own; plain pip does not know them.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
saved_environ = dict(os.environ)
ensurepip.bootstrap(upgrade=False, default_pip=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the pip run below must see the
# machine's pip configuration (index, CA bundle) again.
os.environ.clear()
os.environ.update(saved_environ)
importlib.invalidate_caches()
sys.argv = ["pip", "install", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
