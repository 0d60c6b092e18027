#!/usr/bin/env python3
"""Writes BENCHMARKS.md (on stdout) from the raw figures scripts/bench left in DIR.

Usage: bench-report.py DIR
"""

import json
import os
import statistics
import sys

results = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))


def machine():
    info = {}
    with open(os.path.join(results, "machine")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            info[key] = value
    return info


def samples(name):
    """Wall times of NAME in ms."""
    path = os.path.join(results, name + ".us")
    with open(path) as f:
        return [int(line) / 1000 for line in f if line.strip()]


def med(name):
    return statistics.median(samples(name))


def ms(value):
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def spread(name):
    s = samples(name)
    return f"{ms(min(s))} – {ms(max(s))}, n={len(s)}"


def rss_kib(name):
    with open(os.path.join(results, f"rss-{name}.txt")) as f:
        for line in f:
            if "Maximum resident set size" in line:
                return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"no RSS for {name}")


def mb(kib):
    return f"{kib * 1024 / 1e6:.1f} MB"


def verdict(ok):
    return "**yes**" if ok else "**no**"


m = machine()
s3_ran = os.path.exists(os.path.join(results, "b2_s3_imglife.us"))
out = []
w = out.append

w("# Benchmarks")
w("")
w("imglife against the tools a user would otherwise script, side by side in one run, on the")
w("services the tests use: Debian's `docker-registry` started by `scripts/services.sh` and the")
w("GitLab emulator of `tests/support` (`gitlab-emulator`), all on 127.0.0.1. This file is")
w("rewritten by")
w("")
w("```sh")
w("scripts/bench")
w("```")
w("")
w("which installs what is missing (skopeo, hyperfine, GNU time, curl, jq, rclone), builds the release")
w("binaries, starts and stops the services, seeds the fixtures and runs every comparison.")
w("The figures below are from **one run on one machine**: read the ratios; the absolute times")
w("say as much about the machine (and whatever else ran on it) as about imglife.")
w("")
w("## Machine and run")
w("")
w("| | |")
w("|---|---|")
w(f"| date (UTC) | {m['date']} |")
w(f"| CPU | {m['cpu']} ({m['nproc']} cores) |")
w(f"| memory | {m['mem']} |")
w(f"| OS, kernel | {m['os']}, {m['kernel']} |")
w(f"| imglife | commit `{m['commit']}`, `cargo build --release` ({m['rustc']}) |")
w(f"| competitors | {m['skopeo']}; {m['curl']}; GNU xargs; {m['hyperfine']} |")
w(f"| services | {m['registry']}; GitLab emulator with {int(m['records']):,} seeded records"
  + ("; s3s-fs 0.14.1 (the tests' `s3-server`) with the same records" if s3_ran else "") + " |")
w("")

# --- timings ---------------------------------------------------------------
a1 = med("a1_imglife")
a1_skopeo = med("a1_skopeo")
a1_curl = med("a1_curl")
a2 = med("a2_imglife")
a2_curl = med("a2_curl")
a3 = med("a3_imglife")
a3_xargs = med("a3_xargs")
a3_n1 = med("a3_xargs_n1")
a3_seq = med("a3_curl_seq")

with open(os.path.join(results, "startup.json")) as f:
    startup = {r["command"]: r for r in json.load(f)["results"]}
imglife_startup = next(v for k, v in startup.items() if k.endswith("imglife --version"))
startup_ms = imglife_startup["median"] * 1000

rows = [
    ("1 inspection", "`imglife register` (registry source, fs store)", a1, "a1_imglife",
     "`skopeo inspect`", a1_skopeo, "a1_skopeo", 0.5),
    ("1 inspection", "`imglife register` (registry source, fs store)", a1, "a1_imglife",
     "`curl`, the same request (floor)", a1_curl, "a1_curl", 1.5),
    ("2 publishing", "`imglife register` (all flags, GitLab store)", a2, "a2_imglife",
     "one `curl -X PUT`", a2_curl, "a2_curl", 1.5),
    ("3 reading", f"`imglife app list` ({int(m['records']):,} records)", a3, "a3_imglife",
     "list + `xargs -P16 curl`", a3_xargs, "a3_xargs", 0.5),
    ("3 reading", f"`imglife app list` ({int(m['records']):,} records)", a3, "a3_imglife",
     "list + `xargs -P16 -n1 curl`", a3_n1, "a3_xargs_n1", 0.5),
    ("3 reading", f"`imglife app list` ({int(m['records']):,} records)", a3, "a3_imglife",
     "list + sequential `curl` loop", a3_seq, "a3_curl_seq", None),
]

# (5) S3, when that part ran: the tests' s3s-fs (signatures checked).
if s3_ran:
    rows += [
        ("5 S3 publishing", "`imglife register` (all flags, S3 store)", med("b2_s3_imglife"),
         "b2_s3_imglife", "one `curl --aws-sigv4` PUT", med("b2_s3_curl"), "b2_s3_curl", 1.5),
        ("5 S3 reading", f"`imglife app list` ({int(m['records']):,} records, S3)",
         med("b3_s3_imglife"), "b3_s3_imglife", "`rclone copy --transfers 16` of the prefix",
         med("b3_rclone"), "b3_rclone", 0.5),
    ]

w("## Time (medians)")
w("")
w("| scenario | imglife | median | competitor | median | ratio | target | met? |")
w("|---|---|---|---|---|---|---|---|")
for scenario, what, mine, _, other, theirs, _, target in rows:
    ratio = mine / theirs
    if target is None:
        t, ok = "(context)", "–"
    else:
        t, ok = f"≤ {target}x", verdict(ratio <= target)
    w(f"| {scenario} | {what} | {ms(mine)} | {other} | {ms(theirs)} | {ratio:.2f}x | {t} | {ok} |")
w(f"| 4 start-up | `imglife --version` | {ms(startup_ms)} | | | | ≤ 5 ms | {verdict(startup_ms <= 5)} |")
w("")
w("Spread (min – max, number of timed runs):")
w("")
for name, label in [
    ("a1_imglife", "imglife register, registry source"),
    ("a1_skopeo", "skopeo inspect"),
    ("a1_curl", "curl floor of (1)"),
    ("a2_imglife", "imglife register, GitLab store"),
    ("a2_curl", "curl PUT"),
    ("a3_imglife", "imglife app list"),
    ("a3_xargs", "xargs -P16 curl"),
    ("a3_xargs_n1", "xargs -P16 -n1 curl"),
    ("a3_curl_seq", "sequential curl loop"),
] + ([
    ("b2_s3_imglife", "imglife register, S3 store"),
    ("b2_s3_curl", "curl --aws-sigv4 PUT"),
    ("b3_s3_imglife", "imglife app list, S3"),
    ("b3_rclone", "rclone copy"),
] if s3_ran else []):
    w(f"- {label}: {spread(name)}")
w("")
w("Start-up, `hyperfine -N --warmup 20 --runs 200` (no shell):")
w("")
w("| command | median | mean ± σ |")
w("|---|---|---|")
for command, r in startup.items():
    name = command.rsplit("/", 1)[-1]
    w(f"| `{name}` | {ms(r['median'] * 1000)} | {ms(r['mean'] * 1000)} ± {ms(r['stddev'] * 1000)} |")
w("")

# --- memory and size -------------------------------------------------------
w("## Peak RSS (`/usr/bin/time -v`, one run each)")
w("")
w("| command | peak RSS | target | met? |")
w("|---|---|---|---|")
for name, label, target in [
    ("a1_imglife", "`imglife register` (registry source, fs store)", 30),
    ("a2_imglife", "`imglife register` (all flags, GitLab store)", 30),
    ("a3_imglife", f"`imglife app list` ({int(m['records']):,} records)", None),
    ("a3_startup", "`imglife --version`", None),
    ("a1_skopeo", "`skopeo inspect`", None),
    ("a1_curl", "`curl` (the request of scenario 1)", None),
    ("a2_curl", "`curl -X PUT`", None),
    ("a3_curl_batch", "one `curl` downloading 1,000 records (an `xargs` batch)", None),
] + ([
    ("b2_s3_imglife", "`imglife register` (all flags, S3 store)", 30),
    ("b3_s3_imglife", f"`imglife app list` ({int(m['records']):,} records, S3)", None),
] if s3_ran else []):
    kib = rss_kib(name)
    if target is None:
        w(f"| {label} | {mb(kib)} | (context) | – |")
    else:
        w(f"| {label} | {mb(kib)} | ≤ {target} MB | {verdict(kib * 1024 <= target * 1e6)} |")
w("")
with open(os.path.join(results, "binary-size")) as f:
    size = int(f.read())
w("## Binary size")
w("")
w("| | size | target | met? |")
w("|---|---|---|---|")
w(f"| `target/release/imglife` | {size / 1e6:.2f} MB ({size:,} bytes) | ≤ 15 MB | {verdict(size <= 15e6)} |")
w("")

# --- method ----------------------------------------------------------------
w("## Method")
w("")
w(f"- **Interleaved A/B.** Each scenario runs {m['warmup']} untimed warm-up rounds of all its")
w(f"  commands, then {m['rounds']} timed rounds (scenario 3: {m['list_rounds']}); every round runs")
w("  each command once and the order rotates from round to round (A B C, B C A, C A B), so")
w("  drift of the machine (other builds run on it) hits every command alike. Wall time is read")
w("  from bash's `$EPOCHREALTIME` around the command, with no process started in between")
w("  other than the command's own. The tables give medians.")
w("- The two **one-curl-per-record** variants (sequential loop, `xargs -P16 -n1`) take half a")
w(f"  minute to a minute and a half a run: they get {m['seq_rounds']} timed rounds, interleaved with")
w("  `imglife app list`, and no warm-up of their own (the rounds before them warm the emulator")
w("  and the page cache).")
w("- **(1) Inspection.** The image is pushed to the registry by `bench-fixtures push-image`")
w("  (`tests/support/src/bin/bench-fixtures.rs`, reusing the test fixtures' push code): one")
w("  linux/amd64 OCI manifest whose annotations name the base and the platforms, and whose")
w("  config carries the same as labels. `imglife register --image … --revision x --project g/p`")
w("  with `IMGLIFE_REGISTRY__PROVIDER=fs` reads base and platforms from the manifest")
w("  annotations and writes the record (atomically, fsync'd) to a temporary directory;")
w("  `skopeo inspect --tls-verify=false docker://…` reads the manifest, the config blob and the")
w("  tag list. The **curl floor** issues the one request imglife makes against this")
w("  registry (no authentication, and the annotations answer everything):")
w("  `GET /v2/<repo>/manifests/<tag>` with the manifest `Accept` list, in one curl process.")
w("- **(2) Publishing.** `imglife register` with `--base` and `--platform` (no registry asked),")
w("  GitLab store on a separate, empty emulator, against one `curl -X PUT --data-binary")
w("  @record.json` of the very bytes imglife stores (made by imglife's own `--dry-run --output")
w("  json`) to the same generic-package URL.")
w("- **(3) Reading.** A second emulator is seeded at start-up (`gitlab-emulator --seed N`) with")
w("  the deterministic fleet of `tests/support/src/fixtures.rs`. `imglife app list --output json`")
w("  lists the generic packages (100 a page, following `X-Next-Page`) and downloads every")
w("  `record.json` (16 at a time, the default `registry.concurrency`), then validates and sorts.")
w("  Every curl variant does the same listing with one curl per page plus one `jq` over the")
w("  pages, then downloads: with `xargs -P16 curl` as written (xargs packs as many URLs into")
w("  one curl as fit its command line, about 1,100, so some 9 curls run at once, each over one")
w("  kept-alive connection: the strongest of the three); with `xargs -P16 -n1 curl` (a process")
w("  and a connection per record, 16 at a time); and with a sequential loop of one curl per")
w("  record. The curl variants only download; imglife also parses, checks and sorts every")
w("  record.")
if s3_ran:
    w("- **(5) S3.** Two servers of the tests' `s3-server` (`tests/support/src/bin/s3-server.rs`:")
    w("  s3s-fs 0.14.1, which checks every SigV4 signature; path-style, plain HTTP). Publishing:")
    w("  `imglife register` with `--base` and `--platform` into an empty bucket, against one")
    w("  `curl --aws-sigv4 aws:amz:us-east-1:s3 -T record.json` of the same bytes to the same key")
    w("  (`x-amz-content-sha256: UNSIGNED-PAYLOAD`; imglife hashes the body). Reading: the second")
    w(f"  server holds the same {int(m['records']):,}-record fleet as files under the prefix `fleet/`;")
    w("  `imglife app list --output json` lists it (ListObjectsV2, 1,000 keys a page) and downloads")
    w(f"  every record 16 at a time, against `{m.get('rclone', 'rclone')}` `copy --transfers 16` of the")
    w("  prefix into an emptied directory (listing, then downloading; it writes files, imglife")
    w("  parses, checks and sorts).")
w("- **(4)** Start-up by `hyperfine -N` (no shell in between); peak RSS by `/usr/bin/time -v`;")
w("  binary size by `stat` of the stripped release binary (profile in the root `Cargo.toml`).")
w("- Raw figures of the last run: `target/bench/` (`*.us`: one wall time per line, µs).")
w("")

findings = os.path.join(here, "bench-findings.md")
if os.path.exists(findings):
    with open(findings) as f:
        w(f.read().rstrip("\n"))
        w("")

sys.stdout.write("\n".join(out))
