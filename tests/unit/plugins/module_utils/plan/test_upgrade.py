# -*- coding: utf-8 -*-
"""module_utils/_plan/upgrade.py and versions.py: version guards and upgrades."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems
from .conftest import EXPECT3, HOSTS, client, fresh, healthy, host, make, member, read, refused, running


ARCHIVE = "/srv/etcd-v%s-linux-amd64.tar.gz"


def upgrade_plan(target, current="3.4.23", auth=False, cluster=True, **kwargs):
    probes = running(3, version=current)
    return make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % target}, probes=probes,
                cluster=(read(*[member(i, leader=(i == 2), version=current) for i in (1, 2, 3)], auth=auth)
                         if cluster else None), **kwargs)


def test_upgrade_is_planned_with_a_snapshot_on_the_leader():
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                 probes=running(3, version="3.4.23"))
    assert first["step"] == "probed" and first["read"]["check_auth"]
    plan = upgrade_plan("3.5.16")
    assert plan["refusals"] == []
    up = plan["upgrade"]
    assert up["hosts"] == HOSTS[:3] and up["target"] == "3.5.16" and up["snapshot_host"] == host(2)
    assert up["snapshot_endpoint"] == client(2) and up["snapshot_file"] == "/var/backups/etcd/etcd-before-3.5.16.db"
    assert all(plan["hosts"][h]["binaries"] for h in HOSTS[:3])
    # After the run every member of the run must run the target.
    assert plan["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert plan["restart"]["order"] == [host(1), host(3), host(2)]


@pytest.mark.parametrize("target,current,auth,expected", [
    ("3.5.16", "3.4.23", True, "RBAC authentication is enabled"),
    ("3.5.16", "3.4.23", None, "could not tell whether RBAC authentication is enabled"),
    # Without a rung's release beside the target's archive, the ladder is refused (the package method: below).
    ("3.6.0", "3.4.23", False, "climbs a ladder, one rolling upgrade per minor release, and the directory of "
                               "etcd_archive_src (/srv) holds no etcd 3.5 release of 3.5.32 or later"),
    ("3.4.23", "3.5.16", False, "would downgrade the members running 3.5.16 to minor version 3.4"),
    ("3.6.0", "3.5.16", False, "holds no etcd 3.5 release of 3.5.32 or later (learner promotions"),
    ("4.0.0", "3.5.16", False, "another major version"),
    ("3.5.1", "3.4.23", False, "etcd 3.5.1 is on the known-bad list"),
])
def test_unsafe_version_changes_are_refused(target, current, auth, expected):
    plan = upgrade_plan(target, current=current, auth=auth)
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_an_interrupted_upgrade_is_resumed():
    # The binaries are 3.5.16 everywhere, the members still run 3.4.23: the read says whether auth is on
    # (it is asked on every read), and the members are restarted onto what is installed.
    probes = running(3, stale=["binary replaced"])
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert first["step"] == "probed" and first["read"]["check_auth"]
    cluster = read(*[member(i, leader=(i == 1), version="3.4.23") for i in (1, 2, 3)], auth=False)
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes,
                cluster=cluster)
    assert plan["refusals"] == [] and plan["upgrade"] is None
    assert all("runs etcd 3.4.23, etcd 3.5.16 is installed" in plan["hosts"][h]["restart_reasons"] for h in HOSTS[:3])
    with_auth = dict(cluster, auth_enabled=True)
    assert refused(make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                        probes=probes, cluster=with_auth), "RBAC authentication is enabled")


def test_no_version_is_expected_from_a_removal_or_without_the_install_stage():
    # Before, an empty list of members meant every member: a removal then failed on the members that stay
    # when the configured archive was newer than what they run.
    params = {"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.17"}
    removal = make(play=[host(3)], tags=["etcd_clean"], params=params, probes=running(3), cluster=healthy(3))
    assert removal["refusals"] == [] and removal["verify"]["expect"]["versions"] == {}
    launch = make(tags=["etcd_launch"], params=params, probes=running(3), cluster=healthy(3))
    assert launch["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert cluster_problems(healthy(3), dict(EXPECT3, versions={})) == []


def test_an_unpinned_package_is_checked_against_the_repository_s_version():
    probes = dict(running(2, version="3.4.23"), **{host(3): dict(fresh(), package_candidate="3.6.0")})
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")),
                host_params={})
    assert refused(plan, "the etcd-server package that the repositories of 10.0.0.13 offer (etcd 3.6.0",
                   "would skip a minor version")
    probes[host(3)]["package_candidate"] = "3.4.23"
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")))
    assert plan["verify"]["expect"]["versions"]["etcd-3"] == "3.4.23"
    assert make()["install"]["probe_package"] == "etcd-server"
    assert make(params={"etcd_version": "3.5.16"})["install"]["probe_package"] is None


def test_patch_changes_and_the_same_version_are_allowed():
    assert upgrade_plan("3.5.16", current="3.5.12")["refusals"] == []
    same = upgrade_plan("3.5.16", current="3.5.16")
    assert same["refusals"] == [] and same["upgrade"] is None


def test_upgrade_refused_when_nothing_runs_or_the_cluster_is_unhealthy():
    probes = running(3, version="3.4.23", state="inactive")
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert refused(plan, "no member is running, so no snapshot can be taken first", "3.4.23")
    sick = read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23", healthy=False),
                member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3, version="3.4.23"), cluster=sick)
    assert refused(plan, "the cluster is not healthy (voting member etcd-2 is not healthy)")


def test_a_member_still_on_the_old_version_is_restarted():
    # The defect: binaries replaced, but one member still ran the old etcd and a re-run changed nothing.
    cluster = read(member(1, leader=True), member(2), member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3), cluster=cluster, play=HOSTS[:3])
    assert plan["hosts"][host(3)]["restart_reasons"] == ["runs etcd 3.4.23, etcd 3.5.16 is installed"]
    problems = cluster_problems(cluster, plan["verify"]["expect"])
    assert "member etcd-3 runs etcd 3.4.23, not 3.5.16" in problems


def test_a_3_5_member_whose_v2store_check_did_not_pass_stops_the_upgrade_to_3_6():
    # etcdutl 3.5.36 answered "No custom content found in both v2store and WAL records." on a member that never
    # had enable-v2; a member with custom content (or no verdict) is refused, with etcd's remedy.
    clean = dict(clean=True, answer="No custom content found in both v2store and WAL records.")
    probes = running(3, version="3.5.36")
    for h in probes:
        probes[h]["v2store"] = clean
    params = {"etcd_install_method": "archive", "etcd_archive_src": "/srv/etcd-v3.6.17-linux-amd64.tar.gz"}
    plan = make(probes=probes, cluster=healthy(3, version="3.5.36"), params=params)
    assert not plan["refusals"] and plan["upgrade"]["target"] == "3.6.17", plan["refusals"]
    probes[host(2)]["v2store"] = dict(clean=False, answer="detected custom content in v2store")
    probes[host(3)]["v2store"] = None
    plan = make(probes=probes, cluster=healthy(3, version="3.5.36"), params=params)
    assert refused(plan, "Refusing to upgrade %s to etcd 3.6.17" % host(2), "detected custom content in v2store",
                   "--snapshot-count=1", "Nothing was changed")
    assert refused(plan, "Refusing to upgrade %s to etcd 3.6.17" % host(3), "the probe did not run the check")


# --- issue 22: the ladder and the rollback ------------------------------------------------------------------
BESIDE = dict((v, ARCHIVE % v) for v in ("3.4.23", "3.5.1", "3.5.16", "3.5.36", "3.6.5", "3.6.17", "3.7.4"))


def ladder_plan(target, current, beside=None, probes=None, running_versions=None, params=None, **kwargs):
    probes = probes or running(3, version=current, root=True)
    versions = running_versions or [current] * 3
    cluster = read(*[member(i, leader=(i == 2), version=versions[i - 1]) for i in (1, 2, 3)], auth=False)
    return make(params=dict({"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % target}, **(params or {})),
                probes=probes, cluster=cluster, controller={"archive_dir": BESIDE if beside is None else beside}, **kwargs)


def test_the_ladder_from_3_4_names_every_rung_before_any_change():
    plan = ladder_plan("3.7.4", "3.4.23")
    assert plan["refusals"] == [], plan["refusals"]
    rungs = plan["upgrade"]["ladder"]
    # The newest release of each line beside the target's archive (3.5.1 is known-bad, 3.6.5 older than 3.6.17).
    assert [r["version"] for r in rungs] == ["3.5.36", "3.6.17"]
    assert all(r["hosts"] == HOSTS[:3] for r in rungs)
    assert rungs[0]["archive_path"] == ARCHIVE % "3.5.36" and not rungs[0]["download"]
    assert rungs[0]["snapshot_file"] == "/var/backups/etcd/etcd-before-3.5.36.db"
    # Each rung's config is the one its release reads; its gate is the cluster (and from 3.6 storage) version.
    assert rungs[0]["settings"][host(1)] == dict(gated_settings={"experimental-initial-corrupt-check": True},
                                                 tls_min_version=True)
    assert rungs[1]["settings"][host(1)]["gated_settings"] == {"feature-gates": "InitialCorruptCheck=true"}
    assert rungs[0]["expect"]["cluster_version"] == "3.5" and "storage_version" not in rungs[0]["expect"]
    assert rungs[1]["expect"]["cluster_version"] == "3.6" and rungs[1]["expect"]["storage_version"] == "3.6"
    assert rungs[1]["expect"]["versions"] == {"etcd-1": "3.6.17", "etcd-2": "3.6.17", "etcd-3": "3.6.17"}
    # 3.4 has no etcdutl check of the v2 store: the rung to 3.6 runs it with 3.5.36's, on the members it took there.
    assert rungs[0]["v2store_hosts"] == [] and rungs[1]["v2store_hosts"] == HOSTS[:3]
    assert "Refusing to upgrade HOST to etcd 3.6.17" in rungs[1]["v2store_refusal"]
    assert "ANSWER" in rungs[1]["v2store_refusal"] and "runs etcd 3.5.36" in rungs[1]["v2store_refusal"]
    assert plan["upgrade"]["target"] == "3.7.4" and plan["upgrade"]["v2store_hosts"] == []
    assert plan["verify"]["expect"]["cluster_version"] == "3.7" and plan["verify"]["expect"]["storage_version"] == "3.7"
    assert any("3.5.36 -> 3.6.17 -> 3.7.4" in w for w in plan["warnings"])


def test_a_missing_rung_is_refused_before_any_change():
    beside = dict((v, p) for v, p in BESIDE.items() if not v.startswith("3.6."))
    plan = ladder_plan("3.7.4", "3.4.23", beside=beside)
    assert refused(plan, "holds no etcd 3.6 release of 3.6.11 or later", "the directory of etcd_archive_src (/srv)",
                   "Nothing was changed")
    # A 3.6 release below the floor 3.7 requires is no rung.
    beside["3.6.5"] = ARCHIVE % "3.6.5"
    assert refused(ladder_plan("3.7.4", "3.4.23", beside=beside), "holds no etcd 3.6 release of 3.6.11 or later")


def test_the_ladder_from_a_3_5_patch_below_the_floor_starts_on_the_newest_3_5():
    plan = ladder_plan("3.6.17", "3.5.16")
    assert plan["refusals"] == [] and [r["version"] for r in plan["upgrade"]["ladder"]] == ["3.5.36"]
    # The step to the target checks the v2 store with the 3.5.36 the rung installed.
    assert plan["upgrade"]["v2store_hosts"] == HOSTS[:3] and "3.6.17" in plan["upgrade"]["v2store_refusal"]
    # On the floor already: no rung, the probe's check is used.
    clean = dict(clean=True, answer="No custom content found")
    probes = running(3, version="3.5.36", root=True)
    for h in probes:
        probes[h]["v2store"] = clean
    plan = ladder_plan("3.7.4", "3.5.36", probes=probes)
    assert plan["refusals"] == [] and [r["version"] for r in plan["upgrade"]["ladder"]] == ["3.6.17"]
    assert plan["upgrade"]["ladder"][0]["v2store_hosts"] == []


def test_a_ladder_killed_in_a_rung_resumes_with_the_members_left():
    # Killed in the rung to 3.6.17: etcd-1 runs it, etcd-2 has its binaries but runs 3.5.36, etcd-3 is on 3.5.36.
    clean = dict(clean=True, answer="No custom content found")
    probes = running(3, version="3.5.36", root=True)
    probes[host(1)]["version"] = probes[host(2)]["version"] = "3.6.17"
    for h in probes:
        probes[h]["v2store"] = clean
    plan = ladder_plan("3.7.4", None, probes=probes, running_versions=["3.6.17", "3.5.36", "3.5.36"])
    assert plan["refusals"] == [], plan["refusals"]
    assert [(r["version"], r["hosts"]) for r in plan["upgrade"]["ladder"]] == [("3.6.17", [host(2), host(3)])]


def test_a_ladder_needs_every_member_in_the_run_and_takes_listed_rungs_only():
    assert refused(ladder_plan("3.7.4", "3.4.23", play=HOSTS[:2]), "climbs a ladder", "Run without -l")
    plan = ladder_plan("3.7.4", "3.4.23", params={"etcd_upgrade_rungs": ["3.5.16", "3.6.17"]})
    # 3.5.16 is below the floor 3.6 requires: no fit rung on that line among those listed.
    assert refused(plan, "holds no etcd 3.5 release of 3.5.32 or later", "etcd_upgrade_rungs (3.5.16, 3.6.17)")
    assert refused(ladder_plan("3.7.4", "3.4.23", params={"etcd_upgrade_rungs": ["3.5.99"]}),
                   "etcd_upgrade_rungs: 3.5.99 has no archive etcd-v3.5.99-linux-ARCH.tar.gz beside")


def test_a_ladder_from_a_url_downloads_each_rung_with_its_checksum():
    sha = "a" * 64
    params = {"etcd_archive_src": "", "etcd_archive_checksum": sha,
              "etcd_archive_url": "https://mirror.example/v3.7.4/etcd-v3.7.4-linux-amd64.tar.gz",
              "etcd_upgrade_rungs": [{"version": "3.5.36", "checksum": sha}, {"version": "3.6.17", "checksum": sha}]}
    plan = ladder_plan("3.7.4", "3.4.23", params=params, beside={})
    assert plan["refusals"] == [], plan["refusals"]
    rung = plan["upgrade"]["ladder"][0]
    assert rung["url"] == "https://mirror.example/v3.5.36/etcd-v3.5.36-linux-amd64.tar.gz" and rung["download"]
    assert rung["archive_path"] == "~/.cache/dcs.etcd/etcd-v3.5.36-linux-amd64.tar.gz" and rung["checksum"] == sha
    params["etcd_upgrade_rungs"] = ["3.5.36"]
    assert refused(ladder_plan("3.7.4", "3.4.23", params=params, beside={}),
                   "etcd_upgrade_rungs: 3.5.36 needs its checksum")


def test_a_rollback_one_minor_down_goes_through_etcd_s_downgrade():
    plan = ladder_plan("3.6.17", "3.7.4")
    assert plan["refusals"] == [], plan["refusals"]
    down = plan["downgrade"]
    assert down["state"] == "enabled" and down["version"] == "3.6" and down["expect"]["storage_version"] == "3.6"
    assert plan["upgrade"]["ladder"] == [] and plan["upgrade"]["snapshot_file"].endswith("etcd-before-3.6.17.db")
    # The config is the one 3.6 reads; the run ends with every member on 3.6.17, the cluster on 3.6.
    assert plan["hosts"][host(1)]["gated_settings"] == {"feature-gates": "InitialCorruptCheck=true"}
    assert plan["verify"]["expect"]["cluster_version"] == "3.6"
    # 3.6 to 3.5: 3.5 reads the experimental key.
    plan = ladder_plan("3.5.36", "3.6.17")
    assert plan["refusals"] == [] and plan["downgrade"]["version"] == "3.5"
    assert plan["hosts"][host(1)]["gated_settings"] == {"experimental-initial-corrupt-check": True}
    assert "storage_version" not in plan["verify"]["expect"]


def test_a_rollback_interrupted_after_its_first_member_swaps_the_others_back():
    probes = running(3, version="3.6.17")
    plan = ladder_plan("3.6.17", None, probes=probes, running_versions=["3.6.17", "3.7.4", "3.7.4"])
    assert plan["refusals"] == [] and plan["upgrade"] is None
    assert "runs etcd 3.7.4, etcd 3.6.17 is installed" in plan["hosts"][host(2)]["restart_reasons"]


@pytest.mark.parametrize("target,current,expected", [
    ("3.5.36", "3.7.4", "etcd's downgrade goes back one minor version at a time: roll back to 3.6 first"),
    ("3.4.23", "3.5.36", "etcd has no downgrade below 3.5"),
    ("3.4.23", "3.6.17", "etcd has no downgrade below 3.5"),
])
def test_a_rollback_of_more_than_one_minor_or_below_3_5_is_refused(target, current, expected):
    assert refused(ladder_plan(target, current), expected, "restore a snapshot into a new cluster", "Nothing was changed")


def test_a_downgrade_the_target_contradicts_is_cancelled():
    cluster = read(*[member(i, leader=(i == 2), version="3.7.4") for i in (1, 2, 3)], auth=False)
    for m in cluster["members"]:
        m["status"]["downgrade"] = {"target": "3.6.0"}
    cluster["members"][0]["status"]["version"] = "3.6.17"
    probes = running(3, version="3.7.4")
    probes[host(1)]["version"] = "3.6.17"
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.7.4"}, probes=probes,
                cluster=cluster, controller={"archive_dir": BESIDE})
    assert plan["refusals"] == [] and plan["downgrade"] == dict(state="cancelled", version="3.7", expect=None)


def test_the_package_method_has_no_ladder():
    params = {"etcd_install_method": "package", "etcd_version": "3.6.17"}
    plan = make(params=params, probes=running(3, version="3.4.23"), cluster=healthy(3, version="3.4.23"))
    assert refused(plan, "etcd 3.6.17 would skip a minor version", "Nothing was changed")
    plan = make(params=dict(params, etcd_version="3.6.17"), probes=running(3, version="3.5.16"),
                cluster=healthy(3, version="3.5.16"))
    assert refused(plan, "needs every 3.5 member on 3.5.32 or later first")


def test_a_ladder_on_a_cluster_not_converged_by_this_role_is_refused():
    # Taken over from another tool: no root client certificate yet, or a config without client-cert-auth.
    plan = ladder_plan("3.7.4", "3.4.23", probes=running(3, version="3.4.23"))
    assert refused(plan, "restart the members on this role's config, unit and certificates", "Converge the cluster on "
                   "its current release first", "Nothing was changed")


def test_a_rung_never_takes_a_member_back_on_its_line():
    # A member already runs a 3.6 release newer than the newest 3.6 beside the archive: no fit rung.
    probes = running(3, version="3.5.36", root=True)
    probes[host(1)]["version"] = "3.6.20"
    for h in probes:
        probes[h]["v2store"] = dict(clean=True, answer="No custom content found")
    plan = ladder_plan("3.7.4", None, probes=probes, running_versions=["3.6.20", "3.5.36", "3.5.36"])
    assert refused(plan, "holds no etcd 3.6 release")


def test_the_rungs_expect_the_members_not_the_hosts_that_join():
    probes = dict(running(3, version="3.4.23", root=True), **{host(4): fresh()})
    cluster = read(*[member(i, leader=(i == 2), version="3.4.23") for i in (1, 2, 3)], auth=False)
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.7.4", "etcd_init": "existing"},
                probes=probes, cluster=cluster, controller={"archive_dir": BESIDE}, n=4)
    rungs = (plan.get("upgrade") or {}).get("ladder") or []
    assert rungs and all("etcd-4" not in r["expect"]["versions"] for r in rungs), (plan["refusals"], rungs)


def test_a_rollback_with_the_package_method_is_refused():
    cluster = read(*[member(i, leader=(i == 2), version="3.7.4") for i in (1, 2, 3)], auth=False)
    plan = make(params={"etcd_install_method": "package", "etcd_version": "3.6.17"}, probes=running(3, version="3.7.4"),
                cluster=cluster)
    assert refused(plan, "needs the archive method", "Nothing was changed")


def test_a_member_holding_the_lower_binary_but_running_the_higher_release_still_gets_the_downgrade():
    # Every member runs 3.7.4 (no downgrade under way), one already holds 3.6.17's binary: etcd's downgrade first.
    probes = running(3, version="3.7.4", root=True)
    probes[host(1)]["version"] = "3.6.17"
    plan = ladder_plan("3.6.17", None, probes=probes, running_versions=["3.7.4"] * 3)
    assert plan["refusals"] == [] and plan["downgrade"]["state"] == "enabled"


def test_the_final_check_waits_until_no_downgrade_runs():
    plan = ladder_plan("3.6.17", "3.7.4")
    expect = plan["verify"]["expect"]
    assert expect["no_downgrade"] and expect["cluster_version"] == "3.6"
    cluster = read(*[member(i, leader=(i == 2), version="3.6.17") for i in (1, 2, 3)])
    for m in cluster["members"]:
        m["status"]["storage_version"] = "3.6.0"
    cluster["members"][2]["status"]["downgrade"] = {"target": "3.6.0"}
    problems = cluster_problems(dict(cluster, cluster_version="3.6.0"), expect)
    assert [p for p in problems if "still takes part in etcd's downgrade to 3.6.0" in p], problems


def test_a_rung_archive_whose_checksum_differs_is_refused():
    rungs = [{"version": "3.5.36", "checksum": "b" * 64}, "3.6.17"]
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.7.4", "etcd_upgrade_rungs": rungs},
                probes=running(3, version="3.4.23", root=True),
                controller={"archive_dir": BESIDE, "archive_dir_sha256": {"3.5.36": "c" * 64}})
    assert refused(plan, "the archive of 3.5.36 beside etcd_archive_src has sha256 " + "c" * 64, "Nothing was installed")


def test_a_release_older_than_3_4_is_refused_however_it_would_come():
    # Ubuntu 22.04's repositories offer etcd-server 3.3: a package install without a pinned version gets it.
    probes = dict((host(i), dict(fresh(), package_candidate="3.3.25")) for i in (1, 2, 3))
    plan = make(probes=probes, host_params={})
    assert refused(plan, "the etcd-server package that the repositories of 10.0.0.11 offer (etcd 3.3.25",
                   "is older than 3.4.0, the oldest release dcs.etcd deploys", "etcd_install_method=archive",
                   "Nothing was changed")
    # Pinned, or as an archive: before any host is contacted.
    pinned = make(params={"etcd_version": "3.3.25"})
    assert pinned["step"] == "inputs" and refused(pinned, "etcd_version=3.3.25: etcd 3.3.25 is older than 3.4.0")
    archived = make(params={"etcd_install_method": "archive", "etcd_archive_src": "/srv/etcd-v3.3.27-linux-amd64.tar.gz"})
    assert archived["step"] == "inputs" and refused(archived, "etcd 3.3.27 is older than 3.4.0")
    assert make(params={"etcd_version": "3.4.23"})["refusals"] == []
