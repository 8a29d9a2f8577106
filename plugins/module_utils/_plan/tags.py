# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: what a run's --tags and --skip-tags ask for. Which tags exist (the
role's stages, its operations, Pigsty's tags that have no stage here), which combinations run, which
operation a run performs and which file-writing stages it selects. Pure functions over the tag lists."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import CLUSTER_RE, names

# The role's stages, as tags. Pigsty's tags that have no stage here stop the run with a hint, rather than
# succeeding without doing anything.
STAGE_TAGS = ("etcd_assert", "etcd_install", "etcd_clean", "etcd_purge", "etcd_dir", "etcd_config", "etcd_cert",
              "etcd_conf", "etcd_launch", "etcd_auth", "etcd_register")
REMOVAL_TAGS = ("etcd_clean", "etcd_purge")
# Operations on the whole cluster, run on their own: -t etcd_backup, -t etcd_restore, -t etcd_recover, ...;
# -t etcd_check reads and changes nothing.
OPERATION_TAGS = ("etcd_backup", "etcd_restore", "etcd_recover", "etcd_maintain", "etcd_ca_rotate", "etcd_check")
NOT_HERE_TAGS = {
    "etcd_env": "dcs.etcd writes the etcdctl environment (/etc/profile.d/etcdctl.sh) in the etcd_conf stage",
    "etcd_member": "dcs.etcd adds members with ./etcd.yml -l NEW_HOSTS -e etcd_init=existing",
}
ANSIBLE_TAGS = ("all", "always", "never", "tagged", "untagged")


def run_problems(groups, cluster, run_tags, skip_tags=()):
    """What stops a run before any host is considered: the cluster's inventory group and the run's tags."""
    problems = []
    if not isinstance(cluster, str) or not CLUSTER_RE.match(cluster):
        problems.append("etcd_cluster=%s: must be a simple name ([A-Za-z0-9_.-]) of an inventory group listing the "
                        "members. Nothing was changed." % (cluster,))
    elif cluster not in groups or not groups[cluster]:
        problems.append("etcd_cluster=%s names no inventory group with hosts (groups: %s). Add the members to a "
                        "group of that name, or set etcd_cluster to the group's name. Nothing was changed."
                        % (cluster, names(sorted(g for g in groups if g not in ("all", "ungrouped"))) or "none"))
    for option, tags in (("-t", run_tags), ("--skip-tags", skip_tags)):
        for tag in tags or []:
            if tag in STAGE_TAGS or tag in OPERATION_TAGS or tag in ANSIBLE_TAGS or not str(tag).startswith("etcd_"):
                continue
            hint = NOT_HERE_TAGS.get(tag)
            if hint and option == "-t":
                problems.append("-t %s: %s, so this tag would run nothing. Nothing was changed." % (tag, hint))
            elif not hint:
                problems.append("%s %s: no such stage. The stages (tags) are %s; the operations are %s. Nothing was "
                                "changed." % (option, tag, ", ".join(STAGE_TAGS), ", ".join(OPERATION_TAGS)))
    selected = [t for t in run_tags or [] if t in STAGE_TAGS]
    if [t for t in selected if t in REMOVAL_TAGS] and [t for t in selected if t not in REMOVAL_TAGS]:
        problems.append("-t %s: etcd_clean and etcd_purge remove members and cannot be combined with the other "
                        "stages. Run them separately. Nothing was changed." % ",".join(selected))
    operations = [t for t in run_tags or [] if t in OPERATION_TAGS]
    if operations and (len(operations) > 1 or selected):
        problems.append("-t %s: %s runs on its own, combined with no stage or other operation. Nothing was changed."
                        % (",".join(selected + operations), " and ".join(operations)))
    return problems


def operation_of(run_tags):
    """The operation a run performs (backup, restore, recover, maintain, ca_rotate, check), or None for a converge or a
    removal."""
    found = [t for t in run_tags or [] if t in OPERATION_TAGS]
    return found[0][len("etcd_"):] if len(found) == 1 else None


def stages_run(run_tags, skip_tags=()):
    """Which of the file-writing stages this run's --tags/--skip-tags select. When the conf stage runs, it
    writes the directories and certificates of the earlier stages in its own module run (one round trip per
    member for the three); a stage that runs without it writes its own entries."""
    run_tags, skip_tags = set(run_tags or ["all"]), set(skip_tags or [])
    every = bool(run_tags & set(["all", "tagged"]))

    def runs(*tags):
        return (every or bool(run_tags & set(tags))) and not skip_tags & set(tags)

    return dict(install=runs("etcd_install"), dir=runs("etcd_dir"), cert=runs("etcd_config", "etcd_cert"),
                conf=runs("etcd_config", "etcd_conf"), register=runs("etcd_register"), auth=runs("etcd_auth"))
