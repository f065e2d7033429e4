"""Stand-in for pypa's get-pip.py, for ansible-test's sanity virtual environments.

ansible-test creates each sanity venv without pip and bootstraps pip by running get-pip.py,
which it downloads from ci-files.testing.ansible.com. That host is not reachable here (only
PyPI is), and ansible-test's own error message says to save the script to
~/.ansible/test/cache/get_pip_<version>.py by hand. This does what get-pip.py does, from the
standard library: ensurepip installs the pip wheel bundled with Python, then that pip
installs the packages ansible-test asked for (pip==<version>) from PyPI.

ansible-test runs it with the venv's python and get-pip's arguments, e.g.
  --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel
"""

import os
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    # A child process, because ensurepip points PIP_CONFIG_FILE at /dev/null in the process it
    # runs in, and the pip that reaches PyPI below must see the machine's pip configuration.
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
    pip = [sys.executable, '-m', 'pip']
    subprocess.check_call(pip + ['install', '--upgrade', '--force-reinstall'] + args)
    if '--no-setuptools' in sys.argv:
        # get-pip.py would not have installed it; Python 3.11's ensurepip does.
        subprocess.check_call(pip + ['uninstall', '--yes', '--quiet', 'setuptools'],
                              env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1'))


if __name__ == '__main__':
    main()
