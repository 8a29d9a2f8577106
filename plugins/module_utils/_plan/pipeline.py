# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: every cross-host decision of a run of the etcd role, as pure functions
over plain data. The etcd_plan action plugin gathers the inputs (the inventory, the parameters, the run's tags,
what the probes found on each member, the cluster as etcd reported it) and returns make_plan()'s result; the
role's tasks and templates only read it.

A run plans in up to three steps, each with what is known by then, each refusing as early as it can:
  1. the inventory and the parameters (no host has been contacted);
  2. plus what etcd_host_info found on every member (read-only);
  3. plus the cluster as etcd_cluster_info read it through a running member, when the run needs it.

Each refusal names the variable and the host, and no refusal comes after a change. Every rule is here once,
in the module named after its concern:

  inputs        what the run was given (Inputs), and its refusals and warnings
  tags          which stages and operations a run's tags select
  values        what one value may be (names, addresses, ports, paths, SANs, booleans)
  checks        step 1: the inventory and the parameters
  access        RBAC, the root login, consumer certificates (their checks and their plan)
  facts         what the probes and the cluster read found (Facts)
  identities    each member's name, address, URLs and certificate names
  guards        safeguard, lost data, another CA, identity changes, unreachable members
  disk_check    the disk check's figures
  membership    removals and joins
  versions      etcd's version rules; upgrade: the install source and the upgrade
  convergence   what each member does, restarts (leader last), the final check
  registration  Prometheus targets, rules and certificates
  rules         the rules the role's filters share (cluster_problems, restart_order, ...)
  operations/   one module per operation (backup, restore, recover, maintain, ca_rotate); registry.py
  pipeline      the order of the steps: make_plan, and controller_paths (what the action reads first)

The package's __init__.py files stay empty (ansible-test sanity empty-init on ansible-core 2.16): the entry points
are pipeline.make_plan and pipeline.controller_paths."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan import (
    access,
    checks,
    convergence,
    disk_check,
    guards,
    identities,
    membership,
    registration,
    upgrade,
)
from ansible_collections.dcs.etcd.plugins.module_utils._plan.facts import Facts
from ansible_collections.dcs.etcd.plugins.module_utils._plan.inputs import Inputs
from ansible_collections.dcs.etcd.plugins.module_utils._plan.operations.registry import OPERATIONS
from ansible_collections.dcs.etcd.plugins.module_utils._plan.operations.backup import backup_settings
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import certificate_is_user
from ansible_collections.dcs.etcd.plugins.module_utils._plan.tags import run_problems, stages_run


def make_plan(raw, controller):
    """The plan of a run (see the package's docstring for its three steps)."""
    run = Inputs(raw, controller)
    plan = dict(cluster=run.cluster, step="inputs", refusals=run.refusals, warnings=run.warnings,
                order=run.order, hosts={}, run_hosts=[h for h in run.order if h in run.play], others=[],
                read=None, stages=stages_run(run.run_tags, run.skip_tags))
    # --- step 1: the inventory and the parameters (no host has been contacted) ---------------------------
    for problem in run_problems(run.groups, run.cluster, run.run_tags, run.skip_tags):
        run.refuse(problem)
    if run.refusals:
        return plan
    checks.check_inventory(run)
    checks.check_parameters(run)
    checks.check_backup_parameters(run)
    client_certs = access.check_parameters(run)
    checks.check_rebuild_limit(run)
    checks.check_install(run)
    checks.check_member_parameters(run)
    checks.check_pki(run)
    checks.check_member_count(run)
    input_warnings = len(run.warnings)
    plan["others"] = [h for h in run.order if h not in run.play]
    plan["pki_dir"] = run.pki_dir()
    plan["target_version"] = run.target_version()
    if run.refusals:
        return plan
    hosts = identities.identities(run)
    plan["hosts"] = hosts
    plan["install"] = upgrade.install_settings(run)
    plan["backup"] = backup_settings(run, hosts)
    plan["access"] = dict(run=False, state="present", host=None, endpoints=[], roles=[], users=[], prune=False,
                          users_absent=[], roles_absent=[])
    plan["root_client"] = False
    plan["root_login"] = False
    # What the probes look at: the files each member may hold (compared in-process by the stages that write
    # them), and the disk check's reach.
    plan["probe"] = dict(groups=convergence.probe_groups(plan), disk_check=disk_check.probe_mode(run),
                         check_v2store=upgrade.v2store_check_wanted(run),
                         # -t etcd_check: what each member holds of the cluster's backups.
                         backups=dict(dir=plan["backup"]["dir"], cluster=run.cluster,
                                      metrics_file=plan["backup"]["metrics_file"]) if run.operation == "check" else None)
    access.plan_client_certs(plan, client_certs)
    if run.probes is None:
        convergence.plan_connection(run, plan)
        return plan
    # --- steps 2 and 3: what the probes found, and the cluster as etcd reported it ------------------------
    plan_probed(run, Facts(run, hosts), plan)
    convergence.plan_connection(run, plan)
    plan["new_warnings"] = run.warnings[input_warnings:]
    return plan


def plan_probed(run, facts, plan):
    """Steps 2 and 3: with the probes (and the read, once the run needs it and has it)."""
    hosts = facts.hosts
    states = facts.states
    operation = OPERATIONS.get(run.operation)
    # What this run removes: -t etcd_clean/etcd_purge (members), or etcd_clean=true (a rebuild); hosts, partial,
    # members and via are decided below and in membership.
    plan["removal"] = dict(active=run.removing, rebuild=run.rebuild, purge=run.purging, rebuilt=run.rebuilt,
                           hosts=run.removed, partial=False, members=[], via=dict(host=None, endpoints=[]))
    plan["operation"] = run.operation
    # Not "unreachable": Ansible would take a result with that key for an unreachable host.
    plan["unreachable_hosts"] = facts.unreachable
    guards.refuse_failed_probes(run, facts)
    disk_check.judge_disks(run, facts, plan)
    identities.refuse_missing_addresses(run, facts)
    identities.describe_probed(run, facts)

    # --- removal ------------------------------------------------------------------------------------------
    removed, settled = run.removed, run.settled

    def holds_member(host):
        """Whether a host that stays holds a member: on disk, in service, or in etcd's membership. Not
        knowing (unreachable, cluster not read) counts as holding one."""
        state = states.get(host)
        if facts.in_membership.get(host):
            return True
        if state is None:
            return not facts.read_ok
        return state["has_data"] or state["running"] or state["unit_exists"] or state["conf_exists"]

    partial = bool(removed) and any(holds_member(h) for h in settled)
    plan["removal"]["partial"] = partial
    guards.guard_safeguard(run, facts, removed if not run.rebuild else [h for h in run.order if h in run.play],
                           run.purging, run.rebuild)
    guards.guard_data_and_ca(run, facts, run.removing, run.rebuild,
                             data_lost_ok=bool(operation and operation[0].ACCEPTS_LOST_DATA),
                             ca_checked=operation is None or operation[0].WRITES_CERTIFICATES)

    # --- what this run reads ------------------------------------------------------------------------------
    running, read_hosts = facts.running, facts.read_hosts
    joining_run = run.param("etcd_init") == "existing" and not run.removing
    strangers_possible = (run.param("etcd_init") == "new" and not run.removing
                          and any(states[h] and not states[h]["has_data"] for h in run.play if h in hosts)
                          and bool(facts.with_data))
    upgrade_hosts = upgrade.upgrading_hosts(run, facts)
    restart_requested = [h for h in run.play if h in hosts and states[h] and states[h]["running"]
                         and ("etcd_launch" in run.run_tags or states[h]["stale_reasons"])]
    # Members whose config makes no user of a client certificate (no client-cert-auth, as Pigsty writes it), or
    # may still run such a config: with RBAC on, the role's calls log in as root until they run this role's.
    cert_not_user = [h for h in running if not certificate_is_user(states[h]["config"])
                     or "%s modified after start" % run.paths.get("conf_file") in states[h]["stale_reasons"]]
    needs_read = bool(read_hosts) and not (run.removing and not partial) and not run.rebuild and (
        operation is not None or joining_run or partial or strangers_possible or bool(upgrade_hosts)
        or bool(restart_requested) or bool([h for h in run.order if h not in run.play]) or bool(facts.unreachable)
        or bool(cert_not_user))
    if needs_read:
        # Whether RBAC is on matters to a 3.4 to 3.5 upgrade (etcd does not support it then), also to one
        # that was interrupted: its binaries are installed, but members still run 3.4.
        # The read runs etcdctl from etcd_bin_dir, or, where this role has installed none yet (a cluster
        # deployed by another tool, such as Pigsty's /usr/bin), the one on the member's PATH.
        plan["read"] = dict(host=read_hosts[0], check_auth=True,
                            endpoints=[hosts[h]["client_url"] for h in read_hosts if hosts[h]["client_url"]],
                            etcdctl_from_path=not states[read_hosts[0]]["version"])
    plan["step"] = "probed" if facts.read is None and needs_read else "final"
    access.plan_root_login(run, facts, plan, cert_not_user)
    if plan["step"] == "probed":
        # The read comes first; the rest is planned with it.
        convergence.plan_member_actions(run, facts, plan, removed, settled, [], upgrade_hosts)
        return
    if operation is not None:
        # An operation registers nothing (the register stage's tasks, tagged always, find no host), but what it
        # plans itself.
        plan["register"] = dict(hosts=[], mode="none", group=str(run.param("etcd_prometheus_group") or ""), rules_file="",
                                write=False, groups=[], keep_files=[], remove_cluster=False)
        convergence.plan_member_actions(run, facts, plan, [], list(run.order), [], [])
        operation[1](run, facts, plan)
        return
    if run.removing:
        membership.plan_removals(run, facts, plan, partial)
    joiners = membership.plan_joins(run, facts, plan, joining_run)
    if run.param("etcd_init") == "new" and not run.removing:
        membership.refuse_strangers(run, facts)
    guards.guard_unreachable(run, facts, plan)
    if not run.removing:
        guards.guard_identity_changes(run, facts)
    upgrade.plan_upgrade(run, facts, plan, upgrade_hosts)
    convergence.plan_member_actions(run, facts, plan, removed, settled, joiners, upgrade_hosts)
    convergence.plan_restarts(run, facts, plan, joiners, removed)
    convergence.plan_final_check(run, facts, plan, settled, joiners, removed)
    registration.plan_register(run, facts, plan)
    access.plan_access(run, facts, plan)


def controller_paths(raw):
    """What the action must look at on the controller before planning: the release archive given by path,
    the CA certificate in the resolved etcd_pki_dir, the snapshot to restore, the certificates a check shows."""
    run = Inputs(raw, {})
    return dict(archive=run.archive_src(), pki_dir=run.pki_dir(),
                # -t etcd_check: when each certificate expires.
                certificates=registration.certificate_files(run, [dict(host=h, name=run.member_name(h)) for h in run.order])
                if run.operation == "check" and run.pki_dir() else [],
                archive_path=run.archive_path() if run.param("etcd_install_method") == "archive" else None,
                restore_snapshot=str(run.param("etcd_restore_snapshot") or "") or None
                if run.operation == "restore" else None)
