"""Debian's linux-source-6.1 for the generators in scripts/ (gen-reset-maps, gen-evidence):
fetched with `apt-get download` (never installed) into ${PLATRESET_KSRC:-~/.cache/platreset/
linux-source}/debs/, and the paths a generator needs extracted from the package's tarball into a
cached tree. A second run reuses the cache and does no network, apt or tar work.

Cache layout (one .deb per version, shared; one tree per generator and version):

  <cache>/debs/linux-source-6.1_<version>_all.deb
  <cache>/<version>/linux-source-6.1/            gen-reset-maps' tree   (stamp <version>/.complete)
  <cache>/<subdir>/<version>/linux-source-6.1/   another generator's    (stamp <subdir>/<version>/.complete)

A tree's stamp records the extract list it was made with; a different list re-extracts that tree
only. Files added later to a generator's needs go in its `more` list: they are added to a cached
tree without touching its stamp, so checkouts with older and newer lists share the cache instead
of wiping and re-extracting it each time they alternate. Separate trees keep the generators from
fighting over one stamp.

Errors are `Fatal` with the failed step named; `SkipSource` means --offline and not cached.
"""

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PKG = "linux-source-6.1"
TOP = "linux-source-6.1"
SKIP_EXIT = 77
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROG = "ksrc"   # the calling generator's name, for messages


class Fatal(Exception):
    """A failure with a message for the user (step or file:line named in the text)."""


class SkipSource(Exception):
    """--offline and the source is not cached."""


def say(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)


def cache_root():
    d = os.environ.get("PLATRESET_KSRC")
    if d:
        return d
    return os.path.join(os.path.expanduser("~"), ".cache", "platreset", "linux-source")


def run_step(step, argv, **kw):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, **kw)
    except FileNotFoundError:
        raise Fatal(f"step '{step}' failed: {argv[0]} not found (needs a Debian system with apt and dpkg)")
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-6:]
        raise Fatal(f"step '{step}' failed (exit {r.returncode}): {' '.join(argv)}\n    " + "\n    ".join(tail))
    return r.stdout


def pinned_version(committed_json):
    """The package version a committed data file names in its "source" field, if any."""
    try:
        with open(committed_json) as f:
            src = json.load(f).get("source", "")
    except (OSError, ValueError):
        return None
    m = re.fullmatch(re.escape(PKG) + r" (\S+)", src)
    return m.group(1) if m else None


def candidate_version():
    out = run_step("apt-cache policy", ["apt-cache", "policy", PKG])
    m = re.search(r"Candidate:\s*(\S+)", out)
    if not m or m.group(1) == "(none)":
        raise Fatal(f"step 'apt-cache policy' failed: no candidate for {PKG} (run apt-get update?)")
    return m.group(1)


def tree_base(subdir=None):
    """The directory holding one generator's per-version trees."""
    root = cache_root()
    return os.path.join(root, subdir) if subdir else root


def stamp_ok(stamp, version, extract):
    try:
        with open(stamp) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return False
    return st.get("version") == version and st.get("extract") == list(extract)


def cached_versions(extract, subdir=None):
    """Versions whose tree for this extract list is complete in the cache."""
    base = tree_base(subdir)
    out = []
    if os.path.isdir(base):
        for v in sorted(os.listdir(base)):
            if stamp_ok(os.path.join(base, v, ".complete"), v, extract):
                out.append(v)
    return out


def tar_member(p):
    """The tarball member pattern of an extract entry: a file, a directory (everything under
    it) or, when it has a `*`, a wildcard as written (tar's `*` also matches `/`)."""
    if "*" in p:
        return f"{TOP}/{p}"
    is_file = p == "Makefile" or "." in os.path.basename(p)
    return f"{TOP}/{p}" if is_file else f"{TOP}/{p}/*"


def fetch_tree(version, offline, extract, more=(), subdir=None):
    """Return the extracted linux-source-6.1 directory of version holding `extract` (+ `more`),
    from the cache or made now. `extract` must include "Makefile" (the completeness check)."""
    root = cache_root()
    vdir = os.path.join(tree_base(subdir), version)
    tree = os.path.join(vdir, TOP)
    stamp = os.path.join(vdir, ".complete")
    if stamp_ok(stamp, version, extract) and os.path.isdir(tree):
        extract_more(root, vdir, tree, version, offline, more)
        say(f"using {PKG} {version} (cached in {vdir})")
        return tree
    deb = source_deb(root, version, offline)
    shutil.rmtree(vdir, ignore_errors=True)
    os.makedirs(vdir)
    unpack = os.path.join(vdir, "deb.partial")
    say(f"unpacking {os.path.basename(deb)} with dpkg -x")
    run_step("dpkg -x", ["dpkg", "-x", deb, unpack])
    tarball = os.path.join(unpack, "usr", "src", f"{TOP}.tar.xz")
    if not os.path.isfile(tarball):
        raise Fatal(f"step 'dpkg -x' failed: {tarball} is not in the package")
    say(f"extracting {', '.join(list(extract) + list(more))} from {TOP}.tar.xz")
    members = [tar_member(p) for p in list(extract) + list(more)]
    run_step("tar -xJf", ["tar", "-xJf", tarball, "-C", vdir, "--wildcards"] + members)
    shutil.rmtree(unpack)
    mk = os.path.join(tree, "Makefile")
    if not os.path.isfile(mk):
        raise Fatal(f"step 'tar -xJf' failed: {mk} missing after extraction")
    with open(stamp, "w") as f:
        json.dump({"version": version, "extract": list(extract)}, f)
    say(f"using {PKG} {version} (cached in {vdir})")
    return tree


def extract_more(root, vdir, tree, version, offline, more):
    """Add the `more` files a cached tree lacks, streamed from the cached .deb (no dpkg -x)
    into a private directory and moved into place; the tree's stamp is left as it is."""
    missing = [p for p in more if not os.path.isfile(os.path.join(tree, p))]
    if not missing:
        return
    deb = source_deb(root, version, offline)
    say(f"extracting {', '.join(missing)} from {TOP}.tar.xz into the cached tree")
    tmp = tempfile.mkdtemp(prefix=".more-", dir=vdir)
    try:
        debtar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        xz = subprocess.Popen(["tar", "-xO", f"./usr/src/{TOP}.tar.xz"], stdin=debtar.stdout,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        debtar.stdout.close()
        inner = subprocess.run(["tar", "-xJ", "-C", tmp] + [f"{TOP}/{p}" for p in missing],
                               stdin=xz.stdout, capture_output=True, text=True)
        xz.stdout.close()
        codes = (debtar.wait(), xz.wait(), inner.returncode)
        if any(codes):
            raise Fatal(f"step 'extract {', '.join(missing)}' failed (exit {codes}): "
                        f"{inner.stderr.strip()[-300:]}")
        for p in missing:
            src, dst = os.path.join(tmp, TOP, p), os.path.join(tree, p)
            if not os.path.isfile(src):
                raise Fatal(f"step 'extract {p}' failed: not in {TOP}.tar.xz")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def source_deb(root, version, offline):
    """The cached linux-source .deb of version, downloaded with apt-get when absent."""
    debdir = os.path.join(root, "debs")
    name = f"{PKG}_{version.replace(':', '%3a')}_all.deb"   # file names encode the epoch colon as %3a
    deb = os.path.join(debdir, name)
    if not os.path.isfile(deb):
        if offline:
            raise SkipSource(f"{PKG} {version} is not cached in {root} and --offline was given")
        os.makedirs(debdir, exist_ok=True)
        say(f"downloading {PKG}={version} with apt-get download into {debdir} (~140 MB)")
        run_step("apt-get download", ["apt-get", "download", f"{PKG}={version}"], cwd=debdir)
        if not os.path.isfile(deb):
            raise Fatal(f"step 'apt-get download' failed: no {name} appeared in {debdir}")
    got = run_step("dpkg-deb --field", ["dpkg-deb", "--field", deb, "Version"]).strip()
    if got != version:
        raise Fatal(f"step 'dpkg-deb --field' failed: {deb} has version {got}, expected {version}")
    return deb


def resolve_version(args, committed_json, extract, subdir=None):
    """The version to use from the usual options (--source-version, --latest, --check, --offline):
    explicit, apt's candidate, the committed data's, or (no committed data, offline) the newest
    cached one."""
    if args.source_version:
        return args.source_version
    if args.latest:
        return candidate_version()
    version = pinned_version(committed_json)
    if version is not None:
        return version
    if args.check:
        raise Fatal(f"no committed {os.path.relpath(committed_json, REPO)} to check against")
    cached = cached_versions(extract, subdir)
    if args.offline:
        if cached:
            return cached[-1]
        raise SkipSource("no cached source and no committed version")
    return candidate_version()


# ------------------------------------------------------------------------------------------
# Committed data files: deterministic JSON, and the --check comparison
# ------------------------------------------------------------------------------------------

def to_json(v, ind=0):
    """Deterministic JSON: sorted keys, one line per flat object or scalar list (one line per
    reset id keeps diffs readable), nested structures indented by one space per level."""
    flat = lambda x: not isinstance(x, (dict, list)) or (isinstance(x, list) and not x)
    if isinstance(v, dict):
        if all(flat(x) for x in v.values()):
            return json.dumps(v, sort_keys=True, separators=(", ", ": "))
        pad = " " * (ind + 1)
        items = [f"{pad}{json.dumps(k)}: {to_json(v[k], ind + 1)}" for k in sorted(v)]
        return "{\n" + ",\n".join(items) + "\n" + " " * ind + "}"
    if isinstance(v, list):
        if all(not isinstance(x, (dict, list)) for x in v):
            return json.dumps(v)
        pad = " " * (ind + 1)
        return "[\n" + ",\n".join(pad + to_json(x, ind + 1) for x in v) + "\n" + " " * ind + "]"
    return json.dumps(v)


def dump(path, doc):
    text = to_json(doc) + "\n"
    json.loads(text)    # well-formed
    with open(path, "w") as f:
        f.write(text)


def compare(a, b):
    """Differences between two output directories: [(file, message)]."""
    out = []
    fa = sorted(f for f in os.listdir(a) if f.endswith(".json")) if os.path.isdir(a) else []
    fb = sorted(f for f in os.listdir(b) if f.endswith(".json"))
    for f in sorted(set(fa) | set(fb)):
        if f not in fa:
            out.append((f, "missing from the committed data"))
            continue
        if f not in fb:
            out.append((f, "committed but no longer generated"))
            continue
        with open(os.path.join(a, f)) as x, open(os.path.join(b, f)) as y:
            la, lb = x.read().splitlines(), y.read().splitlines()
        if la != lb:
            d = list(difflib.unified_diff(la, lb, f"committed/{f}", f"generated/{f}", n=1, lineterm=""))
            plus = sum(1 for l in d if l.startswith("+") and not l.startswith("+++"))
            minus = sum(1 for l in d if l.startswith("-") and not l.startswith("---"))
            out.append((f, f"{minus} line(s) removed, {plus} added\n" +
                        "\n".join("      " + l for l in d[:40]) + ("\n      ..." if len(d) > 40 else "")))
    return out
