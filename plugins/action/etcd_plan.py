# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans a run of the etcd role on the controller: gathers the inventory, the parameters, the run's tags and
what the probes and the cluster read found, and returns module_utils._plan's plan. No module is sent anywhere."""

from __future__ import annotations

import json
import os
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.dcs.etcd.plugins.module_utils._files import content_sha256, delivered_sha256, file_sha256
from ansible_collections.dcs.etcd.plugins.module_utils._pki import PkiError, accepted_trust, not_after, rotation_installed, rotation_phase
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import MASK
from ansible_collections.dcs.etcd.plugins.module_utils._backup import store_backups
from ansible_collections.dcs.etcd.plugins.module_utils._s3 import S3Error, Store
from ansible_collections.dcs.etcd.plugins.module_utils._plan.pipeline import controller_paths, make_plan
from ansible_collections.dcs.etcd.plugins.module_utils._plan.checks import sibling_groups
from ansible_collections.dcs.etcd.plugins.module_utils._plan.inputs import ARGUMENT_SPEC, HOST_PARAMS
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import peers_answering
from ansible_collections.dcs.etcd.plugins.module_utils._plan.tags import run_problems
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import ARCHIVE_RE


# etcd_restore_snapshot=s3:NAME or s3:latest: a backup in the off-host store (etcd_backup_s3_url).
STORE_SCHEME = "s3:"


def plain(value):
    """Templated inventory values as plain JSON-like Python data."""
    if isinstance(value, dict):
        return dict((to_text(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return to_text(value)


def masked(value):
    """A password as the plan may see it: whether it is set and usable, never its text."""
    if isinstance(value, str) and value and not any(c.isspace() for c in value):
        return MASK
    if isinstance(value, str):
        return value and "it contains whitespace"
    return value if value is None else "it is not a string"


def without_secrets(params):
    """The plan's copy of the parameters holds no password: its result is registered and may be printed."""
    for name in ("etcd_root_password", "etcd_backup_s3_access_key", "etcd_backup_s3_secret_key"):
        if name in params:
            params[name] = masked(params[name]) or ""
    users = params.get("etcd_users")
    if isinstance(users, list):
        params["etcd_users"] = [dict(u, password=masked(u["password"])) if isinstance(u, dict) and "password" in u else u
                                for u in users]
    return params


def archives_beside(archive):
    """The official release archives in the directory of `archive`, for the same architecture: {version: path}."""
    match = ARCHIVE_RE.match(os.path.basename(archive))
    directory = os.path.dirname(archive)
    if not match or not os.path.isdir(directory):
        return {}
    found = {}
    for name in os.listdir(directory):
        other = ARCHIVE_RE.match(name)
        if other and other.group(2) == match.group(2) and os.path.isfile(os.path.join(directory, name)):
            found[other.group(1)] = os.path.join(directory, name)
    return found


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        groups = plain(task_vars.get("groups") or {})
        run_tags = plain(task_vars.get("ansible_run_tags") or ["all"])
        skip_tags = plain(task_vars.get("ansible_skip_tags") or [])
        if args["scope"] == "run":
            cluster = args["cluster"] or "etcd"
            problems = run_problems(groups, cluster, run_tags, skip_tags)
            result.update(changed=False, refusals=problems)
            if problems:
                result.update(failed=True, msg=" ".join(problems))
            return result
        try:
            inputs = self.inputs(task_vars, args, groups, run_tags, skip_tags)
        except AnsibleError as exc:
            result.update(failed=True, msg="etcd_plan: cannot read the inventory: %s" % to_text(exc))
            return result
        needed = controller_paths(inputs)
        controller = {}
        archive = needed.get("archive")
        if archive:
            archive = os.path.expanduser(archive)
            controller["archive_exists"] = os.path.isfile(archive)
            if controller["archive_exists"] and inputs["params"].get("etcd_archive_checksum"):
                controller["archive_sha256"] = file_sha256(archive)
            # The releases beside it, for the rungs of a ladder (docs/upgrade.md): {version: path}.
            controller["archive_dir"] = archives_beside(archive)
            # A rung listed with its checksum is verified as the target's archive is.
            controller["archive_dir_sha256"] = dict(
                (str(e["version"]), file_sha256(controller["archive_dir"][str(e["version"])]))
                for e in inputs["params"].get("etcd_upgrade_rungs") or []
                if isinstance(e, dict) and e.get("checksum") and str(e.get("version")) in controller["archive_dir"])
        if needed.get("archive_path"):
            controller["archive_path"] = os.path.expanduser(needed["archive_path"])
        if needed.get("pki_dir"):
            # Compared with the CA the members hold: hashed as they received it (during a CA rotation, each
            # phase's bundle).
            controller["ca_sha256"] = delivered_sha256(os.path.join(needed["pki_dir"], "ca.crt"))
            try:
                controller["ca_sha256s"] = [content_sha256(c.rstrip()) for c in accepted_trust(needed["pki_dir"])]
                controller["ca_rotation"] = rotation_phase(needed["pki_dir"])
                controller["ca_rotation_installed"] = rotation_installed(needed["pki_dir"])
            except (PkiError, OSError, ValueError) as exc:
                result.update(failed=True, msg="etcd_plan: %s" % to_text(exc))
                return result
        if (needed.get("restore_snapshot") or "").startswith(STORE_SCHEME):
            # A backup in the off-host store (s3:latest, s3:NAME): fetched to the controller, then restored as a
            # file given by path.
            controller["restore"] = self.from_store(task_vars, inputs["params"], needed["restore_snapshot"])
        elif needed.get("restore_snapshot"):
            # Absolute, so that the copy to the members takes this very file (a relative src would be looked up
            # in the role's files).
            controller["restore"] = self.restore_snapshot(os.path.abspath(os.path.expanduser(needed["restore_snapshot"])))
        if needed.get("certificates"):
            # -t etcd_check: when each of the cluster's certificates expires (0: no such file).
            try:
                controller["certificates"] = dict((c["name"], not_after(c["path"]) or 0) for c in needed["certificates"])
            except (OSError, ValueError) as exc:
                result.update(failed=True, msg="etcd_plan: cannot read a certificate in %s: %s" % (needed["pki_dir"], to_text(exc)))
                return result
        controller["now"] = time.time()
        # Names what a restore or a recovery sets aside, and the restored cluster's token.
        controller["stamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        plan = make_plan(inputs, controller)
        result.update(plan)
        result["changed"] = False
        shown = plan["warnings"] if plan["step"] == "inputs" else plan.get("new_warnings", [])
        if plan["step"] != "probed" and shown:
            result["warnings"] = list(shown)
        if plan["refusals"]:
            result.update(failed=True, msg=" ".join(plan["refusals"]))
        return result

    def from_store(self, task_vars, params, spec):
        """The snapshot of etcd_restore_snapshot=s3:NAME (or s3:latest, the newest backup of the cluster there),
        fetched from etcd_backup_s3_url into etcd_backup_fetch_dir (by default ~/.cache/dcs.etcd/restore/CLUSTER)
        with its sidecar, then found as restore_snapshot() finds a file. A copy already fetched whose SHA-256 is the
        sidecar's is not fetched again (the run plans several times). {error} when the store cannot serve it."""
        cluster = str(params.get("etcd_cluster") or "etcd")
        if not params.get("etcd_backup_s3_url"):
            return dict(error="it names a backup in the off-host store, but etcd_backup_s3_url is not set")
        secret = dict((name, to_text(self._templar.template(task_vars.get("etcd_backup_s3_" + name) or "")))
                      for name in ("access_key", "secret_key"))
        ca_file = params.get("etcd_backup_s3_ca_file") or None
        try:
            if ca_file:
                # As the conf stage and -t etcd_backup find it (a relative path in the playbook's files/).
                ca_file = self._find_needle("files", os.path.expanduser(str(ca_file)))
        except AnsibleError as exc:
            return dict(error="etcd_backup_s3_ca_file=%s: %s" % (params.get("etcd_backup_s3_ca_file"), to_text(exc)))
        try:
            store = Store(str(params["etcd_backup_s3_url"]), secret["access_key"], secret["secret_key"],
                          str(params.get("etcd_backup_s3_region") or "us-east-1"), ca_file,
                          int(params.get("etcd_backup_s3_timeout") or 60))
            name = spec[len(STORE_SCHEME):].strip()
            if name in ("", "latest"):
                # This cluster's complete backups only (not etcd-meta's beside etcd's), the newest by its time.
                complete, _incomplete = store_backups([n for n, _size in store.list(cluster + "-")], cluster)
                if not complete:
                    return dict(error="%s holds no backup of cluster %s (a .db with its .json)" % (store.url, cluster))
                name = complete[0][0]
            name = name[:-3] if name.endswith(".db") else name
            directory = os.path.expanduser(str(params.get("etcd_backup_fetch_dir") or "~/.cache/dcs.etcd/restore/" + cluster))
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            path = os.path.join(directory, name + ".db")
            store.read(name + ".json", into=path[:-3] + ".json")
            with open(path[:-3] + ".json") as handle:
                recorded = json.load(handle).get("sha256")
            if not (os.path.isfile(path) and file_sha256(path) == recorded):
                store.read(name + ".db", into=path)
                os.chmod(path, 0o600)
        except (S3Error, OSError, ValueError, AttributeError, KeyError) as exc:
            return dict(error="cannot fetch it from the off-host store: %s" % to_text(exc))
        found = self.restore_snapshot(path)
        found["fetched_from"] = "%s%s.db" % (store.url.rstrip("/") + "/", name)
        return found

    @staticmethod
    def restore_snapshot(path):
        """The snapshot a restore uses, on the controller: whether it exists, its SHA-256, its sidecar."""
        found = dict(path=path, exists=os.path.isfile(path), sidecar=None)
        found["sidecar_path"] = path[:-3] + ".json" if path.endswith(".db") else path + ".json"
        if found["exists"]:
            found["sha256"] = file_sha256(path)
        if os.path.isfile(found["sidecar_path"]):
            try:
                with open(found["sidecar_path"]) as handle:
                    found["sidecar"] = json.load(handle)
                if not isinstance(found["sidecar"], dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                found["sidecar"], found["sidecar_error"] = None, to_text(exc)
        return found

    def inputs(self, task_vars, args, groups, run_tags, skip_tags):
        templar = self._templar
        params = {}
        for name in task_vars:
            if str(name).startswith("etcd_"):
                params[to_text(name)] = plain(templar.template(task_vars[name]))
        without_secrets(params)
        if args["cluster"]:
            params["etcd_cluster"] = args["cluster"]
        cluster = params.get("etcd_cluster")
        hostvars = task_vars["hostvars"]
        members = list(groups.get(cluster) or []) if isinstance(cluster, str) else []
        play_hosts = plain(task_vars.get("ansible_play_hosts_all") or [])
        host_params, host_facts, probes = {}, {}, None
        for host in members + [h for h in play_hosts if h not in members]:
            own = hostvars[host]
            values = {}
            for name in HOST_PARAMS + ("etcd_seq",):
                if name in own:
                    values[name] = plain(own[name])
            host_params[host] = values
            host_facts[host] = dict(inventory_dir=plain(own.get("inventory_dir")),
                                    ansible_host=plain(own["ansible_host"]) if "ansible_host" in own else None)
        # The hosts with an etcd_seq among the groups that may be another cluster's (a host in two clusters).
        seq_hosts = sorted(set(h for hosts in sibling_groups(groups, cluster).values() for h in hosts
                               if h in hostvars and "etcd_seq" in hostvars[h]))
        probe_var, others_var = args["probe_var"], args["others_probe_var"]
        if probe_var in task_vars or any(probe_var in hostvars[h] for h in play_hosts):
            probes = {}
            for host in play_hosts:
                if probe_var in hostvars[host]:
                    probes[host] = plain(hostvars[host][probe_var])
            # Registered on the one host that probed the others (the others' registrations are skipped).
            for host in play_hosts:
                registered = plain(hostvars[host][others_var]) if others_var in hostvars[host] else {}
                for item in registered.get("results") or []:
                    if isinstance(item, dict) and item.get("item") is not None and not item.get("skipped"):
                        probes[item["item"]] = item
        read = None
        if args["read_var"] and args["read_var"] in task_vars:
            read = plain(task_vars[args["read_var"]])
            if read.get("skipped"):
                read = None
        # Which peer URLs answered (a restore's check of the old members outside the inventory).
        peers = None
        if args["peers_var"] and args["peers_var"] in task_vars:
            peers = peers_answering(plain(task_vars[args["peers_var"]]).get("results"))
        return dict(
            params=params, groups=groups, play_hosts=play_hosts, run_tags=run_tags, skip_tags=skip_tags,
            check_mode=bool(self._task.check_mode), paths=plain(args["paths"]), host_params=host_params,
            host_facts=host_facts, probes=probes, cluster_read=read, rebuilt=args["phase"] == "rebuilt",
            recovered=args["phase"] == "recovered", peers=peers, compacted=args["phase"] == "compacted", seq_hosts=seq_hosts,
        )
