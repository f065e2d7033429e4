"""ansible-lint, production profile, over the repository's roles and playbooks (.ansible-lint)."""

from __future__ import annotations

import shutil
import textwrap

from edge_testlib import REPO, run, tool_env

BAD_TASKS = textwrap.dedent("""\
    ---
    - shell: kubeadm token create
""")
GOOD_PLAYBOOK = textwrap.dedent("""\
    ---
    - name: Fine
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Say hello
          ansible.builtin.debug:
            msg: hello
""")


def _lint(cwd, *args):
    return run(['ansible-lint', '--nocolor', '-f', 'pep8'] + list(args), cwd=cwd, env=tool_env(),
               check=False, timeout=900)


def test_repository_passes_ansible_lint():
    done = _lint(REPO)
    assert done.returncode == 0, 'ansible-lint found problems:\n%s\n%s' % (
        done.stdout[-8000:], done.stderr[-4000:])


def test_lint_configuration_is_live(tmp_path):
    """The repository's .ansible-lint, on a throwaway project: violations in our collection's
    roles and in playbooks fail; dependency collections beside ours are left alone."""
    shutil.copyfile(REPO / '.ansible-lint', tmp_path / '.ansible-lint')
    (tmp_path / 'playbooks').mkdir()
    (tmp_path / 'playbooks' / 'fine.yml').write_text(GOOD_PLAYBOOK)
    assert _lint(tmp_path).returncode == 0

    ours = tmp_path / 'collections/ansible_collections/edge/cluster/roles/bad/tasks'
    theirs = tmp_path / 'collections/ansible_collections/community/general/roles/bad/tasks'
    for tasks in (ours, theirs):
        tasks.mkdir(parents=True)
        (tasks / 'main.yml').write_text(BAD_TASKS)
    done = _lint(tmp_path)
    assert done.returncode != 0
    problems = [line for line in done.stdout.splitlines() if ': ' in line and '.yml:' in line]
    assert problems and all('ansible_collections/edge/cluster/roles/bad/' in line
                            for line in problems), done.stdout
    for rule in ('name[missing]', 'fqcn[action-core]', 'no-changed-when',
                 'command-instead-of-shell'):
        assert rule in done.stdout
