"""Build the collection's docs site with antsibull-docs: module, plugin and role references from their own
documentation, and the guides of docs/*.md as extra docs (converted to RST with pandoc).

Usage: python scripts/docs_site.py   (make docs; writes .cache/docs/build/build/html/index.html)

Works on a copy of the checkout under .cache/docs/collections/ansible_collections/dcs/etcd, so nothing is
written into the checkout. Fails on a lint error of the collection's docs and on a Sphinx warning."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK = ROOT / ".cache" / "docs"
COLLECTIONS = WORK / "collections"
COPY = COLLECTIONS / "ansible_collections" / "dcs" / "etcd"
BUILD = WORK / "build"
LABEL = "ansible_collections.dcs.etcd.docsite.%s"
# CommonMark with pipe tables and raw RST, as GitHub renders the guides: no generated header labels (antsibull
# wants its own prefix on every label), no smart quotes, no sub/superscript, math or emoji.
MARKDOWN = "-".join(["commonmark_x", "gfm_auto_identifiers", "smart", "subscript", "superscript", "fancy_lists", "emoji",
                     "tex_math_dollars", "raw_tex", "implicit_header_references", "yaml_metadata_block"])
# The guides in reading order, then the references.
GUIDES = ["deploy", "check", "members", "upgrade", "versions", "monitoring", "backup", "maintenance", "security", "interrupted",
          "troubleshooting", "awx", "pigsty", "patroni"]
REFERENCE = ["parameters", "modules", "plan", "testing", "benchmark"]


def run(cmd, **kwargs):
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def copy_checkout():
    shutil.rmtree(WORK, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        if name.startswith("collections/") or name == "etcd.yml" or not (ROOT / name).is_file():
            continue
        target = COPY / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def to_rst(name):
    """docs/NAME.md as RST, with a label, and links between the guides as references."""
    markdown = (ROOT / "docs" / (name + ".md")).read_text()

    def link(match):
        text, target = match.group(1), match.group(2)
        if target in GUIDES + REFERENCE:
            return "`` :ref:`%s <%s>` ``{=rst}" % (text.replace("`", ""), LABEL % target)
        return text
    # A relative link to another guide becomes a reference (raw RST, so that pandoc lays out tables around
    # it); one to a file outside the docs keeps its text.
    markdown = re.sub(r"\[([^\]]+)\]\((?!https?:)(?:\.\./)?([\w./-]+?)(?:\.md)?(?:#[^)]*)?\)", link, markdown)
    rst = subprocess.run(["pandoc", "--from", MARKDOWN, "--to", "rst", "--wrap", "none"],
                         input=markdown, check=True, capture_output=True, text=True).stdout
    return ".. _%s:\n\n%s" % (LABEL % name, rst)


def extra_docs():
    rst_dir = COPY / "docs" / "docsite" / "rst"
    rst_dir.mkdir(parents=True, exist_ok=True)
    missing = sorted(p.stem for p in (ROOT / "docs").glob("*.md") if p.stem not in GUIDES + REFERENCE)
    if missing:
        sys.exit("scripts/docs_site.py: docs/%s.md is in no section of the site" % ", ".join(missing))
    for name in GUIDES + REFERENCE:
        (rst_dir / (name + ".rst")).write_text(to_rst(name))
    index = ["---", "sections:", "  - title: Guides", "    toctree:"] + ["      - " + n for n in GUIDES]
    index += ["  - title: Reference", "    toctree:"] + ["      - " + n for n in REFERENCE]
    (COPY / "docs" / "docsite" / "extra-docs.yml").write_text("\n".join(index) + "\n")


# Labels of the Ansible docs that the generated plugin pages refer to. The build machine cannot fetch the
# intersphinx inventories of docs.ansible.com, docs.python.org and Jinja's site, so the build gets local
# inventories (the fallback files conf.py names): these labels, pointing at the real pages, and empty ones.
ANSIBLE_LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "ansible_configuration_settings": ("reference_appendices/config.html#ansible-configuration-settings",
                                       "Ansible Configuration Settings"),
    "ansible_collections.ansible.builtin.wait_for_module": (
        "collections/ansible/builtin/wait_for_module.html", "ansible.builtin.wait_for"),
}


def write_inventories():
    import zlib

    def inventory(name, labels):
        head = "# Sphinx inventory version 2\n# Project: %s\n# Version: \n" % name
        head += "# The remainder of this file is compressed using zlib.\n"
        body = "".join("%s std:label -1 %s %s\n" % (label, uri, title) for label, (uri, title) in labels.items())
        (BUILD / (name + ".inv")).write_bytes(head.encode() + zlib.compress(body.encode()))
    inventory("ansible_devel", ANSIBLE_LABELS)
    for name in ("python2", "python3", "jinja2"):
        inventory(name, {})


def main():
    copy_checkout()
    extra_docs()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    run(["antsibull-docs", "lint-collection-docs", "--plugin-docs", "--skip-rstcheck", "."], cwd=COPY, env=env)
    BUILD.mkdir(mode=0o755)
    run(["antsibull-docs", "sphinx-init", "--use-current", "--fail-on-error", "--dest-dir", str(BUILD), "dcs.etcd"],
        cwd=WORK, env=env)
    write_inventories()
    # build.sh: antsibull-docs writes the RST of the collection (plugins, role, extra docs), Sphinx the HTML;
    # -W turns Sphinx's warnings into errors.
    env["SPHINXOPTS"] = "-W --keep-going"
    run(["bash", "./build.sh"], cwd=BUILD, env=env)
    html = BUILD / "build" / "html"
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))
    pages = [html / "collections/dcs/etcd" / (m + "_module.html") for m in modules]
    pages += [html / "collections/dcs/etcd/etcd_role.html"]
    pages += [html / "collections/dcs/etcd/docsite" / (n + ".html") for n in GUIDES + REFERENCE]
    absent = [str(p.relative_to(html)) for p in pages if not p.is_file()]
    if absent:
        sys.exit("scripts/docs_site.py: the site lacks " + ", ".join(absent))
    guides = len(GUIDES + REFERENCE)
    print("docs site: %s (%d modules, the role, %d guides)" % (html / "index.html", len(modules), guides))


if __name__ == "__main__":
    main()
