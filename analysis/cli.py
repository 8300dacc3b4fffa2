"""The ``callreview`` command.

Subcommands
-----------
analyze FILE...    analyse recordings, write ``<call-id>.json`` per call, print a summary
schema             print (or ``--write``) the JSON Schema of the report document
batch INPUT...     analyse a call archive into a folder of reports plus a catalog (resumable)
failures DIR       list the calls a batch could not analyse, with the reason
export DIR         write the catalog's tables as CSV or Parquet for BI tools
dashboard DIR      serve the review dashboard on a batch output folder (127.0.0.1:8501)
hash-password      print a hash of a dashboard password for CALLREVIEW_DASHBOARD_PASSWORD_HASH

Exit codes: 0 success, 1 some calls failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import __version__
from .config import Config
from .errors import CallReviewError, ConfigError, ModelUnavailableError, OutputError
from .output import ensure_output_dir, write_atomic, write_report
from .records import dump_report, json_schema
from .summary import format_summary

log = logging.getLogger("callreview")

SCHEMA_PATH = Path(__file__).parent / "schema" / "call_report.schema.json"
DEFAULT_OUT = "callreview-results"


def _speakers_arg(text: str) -> str | int:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or a number of speakers") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} speakers: give 1 or more, or 'auto'")
    return value


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="configuration file (TOML); defaults work offline")
    p.add_argument("--model", metavar="M", help="faster-whisper model name or local directory (default tiny.en, bundled)")
    p.add_argument("--agent-channel", choices=["auto", "left", "right"], help="dual-channel calls: the agent's channel")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where ASR runs (default auto)")
    p.add_argument("--compute-type", metavar="T", help="CTranslate2 compute type (default: int8 on CPU, float16 on CUDA)")
    p.add_argument("--no-redact", action="store_true", help="keep PII (card numbers, phone numbers, e-mails...) in the report's texts; the report says 'unredacted'")
    p.add_argument("--redact-audio", action="store_true", help="also write <out>/<call-id>.redacted.wav with the PII spans silenced")
    p.add_argument("--rubric", metavar="FILE", help="scoring rubric (TOML): cue phrases, thresholds, weights (default: the shipped rubric)")
    p.add_argument("--speakers", type=_speakers_arg, metavar="auto|N", help="mono calls: number of speakers (default 2), or 'auto' to estimate it")
    p.add_argument(
        "--diarization", choices=["auto", "cluster", "pyannote"],
        help="mono calls: who-spoke-when backend (default auto: pyannote if its pipeline loads, else the offline cluster backend)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callreview", description="Call review and tone analysis for contact-centre recordings.")
    parser.add_argument("--version", action="version", version=f"callreview {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("analyze", parents=[common], help="analyse call recordings", description="Analyse call recordings and write one JSON report per call.")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, MP3, OGG/Opus, M4A) or folders")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT, help=f"folder for <call-id>.json reports (default {DEFAULT_OUT})")
    p.add_argument("--format", choices=["table", "json"], default="table", help="what to print: a summary table or the JSON reports")
    _add_analysis_options(p)

    p = sub.add_parser("show", parents=[common], help="print the summary of saved reports")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="<call-id>.json reports, or folders holding them")

    p = sub.add_parser("schema", parents=[common], help="print the JSON Schema of the report document")
    p.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_PATH.relative_to(Path(__file__).parent.parent)}")
    _add_batch_commands(sub, common)

    p = sub.add_parser("dashboard", parents=[common], help="open the review dashboard on a batch output folder",
                       description="Serve the Streamlit dashboard (Calls, Call review, Analyse a call, Agent coaching, Team overview) for DIR.")
    p.add_argument("dir", metavar="DIR", help="a batch output folder (callreview batch ... --out DIR)")
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only); any other address needs "
                   "CALLREVIEW_DASHBOARD_PASSWORD(_HASH) or OIDC in .streamlit/secrets.toml")
    p.add_argument("--audio-root", action="append", metavar="DIR", default=[],
                   help="another folder whose recordings may be played (repeatable); by default only the output folder "
                   "and the folders the batches read")
    p.add_argument("--ssl-cert", metavar="FILE", help="PEM certificate: serve HTTPS (with --ssl-key)")
    p.add_argument("--ssl-key", metavar="FILE", help="PEM private key of --ssl-cert")

    p = sub.add_parser(
        "train-cues", parents=[common], help="train a cue classifier on your own labelled utterances",
        description="Train the cue classifier (all-MiniLM-L6-v2 with low-rank adapters) on labelled utterances (JSON Lines: "
        "text, role, cues) and the rubric's example phrases, and write it to FILE; point the rubric at it with "
        '[detection] classifier = "FILE". About 10 minutes per 3,000 utterances on 2 CPU cores.',
    )
    p.add_argument("data", nargs="+", metavar="LABELLED.jsonl", help="labelled utterances, one JSON object a line")
    p.add_argument("--out", metavar="FILE", required=True, help="the classifier file to write (.npz)")
    p.add_argument("--rubric", metavar="FILE", help="rubric whose cues, examples and counter-examples are used (default: the shipped rubric)")
    p.add_argument("--epochs", type=_positive_int, default=4, help="passes over the data (default 4)")
    p.add_argument("--holdout", nargs="*", default=[], metavar="SPLIT", help="leave out utterances of these splits (to measure on them)")

    p = sub.add_parser("hash-password", parents=[common], help="hash a dashboard password (for CALLREVIEW_DASHBOARD_PASSWORD_HASH)",
                       description="Read a password (prompted twice on a terminal, else the first line of stdin) and print its "
                       "scrypt hash; export it as CALLREVIEW_DASHBOARD_PASSWORD_HASH so the password itself is stored nowhere.")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration file, with command-line options laid over it."""
    cfg = Config.load(getattr(args, "config", None))
    return cfg.with_overrides(
        {
            "asr.model": getattr(args, "model", None),
            "asr.device": getattr(args, "device", None),
            "asr.compute_type": getattr(args, "compute_type", None),
            "roles.agent_channel": getattr(args, "agent_channel", None),
            "privacy.redact": False if getattr(args, "no_redact", False) else None,
            "privacy.audio": True if getattr(args, "redact_audio", False) else None,
            "scoring.rubric": getattr(args, "rubric", None),
            "diarization.speakers": getattr(args, "speakers", None),
            "diarization.backend": getattr(args, "diarization", None),
        }
    )


AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".wma", ".aif", ".aiff"}


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given, folders expanded to the audio files in them (sorted, recursive)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES))
        else:
            out.append(p)
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import Analyzer

    cfg = config_from_args(args)
    files = expand_inputs(args.files)
    if not files:
        print(f"error: no audio files found in {' '.join(args.files)}", file=sys.stderr)
        return 2
    ensure_output_dir(args.out)  # before loading models: an unwritable --out fails at once
    analyzer = Analyzer(cfg)
    failed = 0
    done = 0
    audio_seconds = 0.0
    t0 = time.perf_counter()
    for path in files:
        try:
            report = analyzer.analyze(path)
            out = write_report(report, args.out)
            if cfg.privacy.audio:
                from .redact_audio import write_report_audio

                write_report_audio(report, path, args.out, cfg.privacy)
        except ModelUnavailableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except OutputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except CallReviewError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        done += 1
        audio_seconds += report.call.duration
        if args.format == "json":
            print(dump_report(report, indent=None))
        else:
            print(format_summary(report))
            print(f"  -> {out}\n")
    elapsed = time.perf_counter() - t0
    if args.format == "table":
        speed = f", {audio_seconds / elapsed:.1f}x real time" if elapsed > 0 and done else ""
        print(f"{done} call(s) analysed, {failed} failed, {audio_seconds:.0f} s of audio in {elapsed:.0f} s{speed}.")
        if done:
            print(f"Reports: {Path(args.out).resolve()}/<call-id>.json (schema: callreview schema)")
    return 1 if failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    from .records import load_report

    paths: list[Path] = []
    for item in args.reports:
        p = Path(item)
        paths.extend(sorted(f for f in p.glob("*.json")) if p.is_dir() else [p])
    failed = 0
    for path in paths:
        try:
            report = load_report(path.read_bytes(), source=str(path))
        except OSError as exc:
            print(f"error: {path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
            failed += 1
            continue
        except CallReviewError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(format_summary(report) + "\n")
    return 1 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.write:
        write_atomic(SCHEMA_PATH, text)
        print(f"wrote {SCHEMA_PATH}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from dashboard.launch import serve

    return serve(args.dir, host=args.host, port=args.port, audio_roots=args.audio_root, ssl_cert=args.ssl_cert, ssl_key=args.ssl_key)


def cmd_train_cues(args: argparse.Namespace) -> int:
    from .cue_model import build_training_set, train_classifier
    from .rubric import load_rubric

    rubric = load_rubric(args.rubric)
    out = Path(args.out)
    if out.suffix != ".npz":
        print(f"error: {out}: the classifier file must end in .npz", file=sys.stderr)
        return 2
    examples, meta = build_training_set(args.data, rubric, args.holdout)
    kinds = list(rubric.cues)
    roles = [rubric.cues[k].speaker for k in kinds]
    print(f"training on {len(examples)} utterances and phrases ({len(examples) - meta['rubric']['phrases']} labelled)", file=sys.stderr)
    weights = train_classifier(examples, kinds, roles, epochs=args.epochs, progress=lambda line: print("  " + line, file=sys.stderr),
                               meta=meta)
    weights.save(out)
    print(f"wrote {out}; use it with [detection] classifier = \"{out.resolve()}\" in your rubric")
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from dashboard.auth import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Again: ") != first:
            print("error: the two passwords differ; nothing printed", file=sys.stderr)
            return 2
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    if len(first) < 12:
        print("warning: a password shorter than 12 characters is easy to guess", file=sys.stderr)
    print(hash_password(first))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(getattr(args, "verbose", 0), 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "show":
            return cmd_show(args)
        if args.command == "schema":
            return cmd_schema(args)
        if args.command in BATCH_COMMANDS:
            return BATCH_COMMANDS[args.command](args)
        if args.command == "dashboard":
            return cmd_dashboard(args)
        if args.command == "hash-password":
            return cmd_hash_password(args)
        if args.command == "train-cues":
            return cmd_train_cues(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CallReviewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


# --- batch, failures, export (issue 6) ------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _add_batch_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "batch", parents=[common], help="analyse a call archive into a folder with a catalog (resumable)",
        description="Analyse every recording found into DIR: <call-id>.json per call and catalog.sqlite. "
        "Re-running skips calls already done with the same settings; exit 0 all done, 1 some failed, 2 usage error, 130 interrupted.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="folders (searched recursively), quoted globs ('calls/**/*.wav'), audio files, or manifest CSVs "
                   "(columns: path, and optionally call_id, agent, team, started_at, agent_channel, language)")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder: reports, catalog.sqlite, lock file")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="calls analysed in parallel (default 1); CPU threads are split between them")
    p.add_argument("--engine", choices=["local", "ray"], help="local worker processes (default) or Ray tasks (pip install 'callreview[ray]')")
    p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to use ('auto', ray://HEAD:10001; implies --engine ray); default: a local Ray instance")
    p.add_argument("--name-pattern", metavar="PATTERN", help="metadata from file names, e.g. '{agent}_{date}_{call_id}.wav'")
    p.add_argument("--archive-root", action="append", metavar="DIR",
                   help="a folder manifests (and links in input folders) may name recordings under, besides their own folder (repeatable)")
    p.add_argument("--force", action="store_true", help="analyse every call again, even those done with the same settings")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="analyse at most N calls in this run (done calls are not counted)")
    p.add_argument("--fail-fast", action="store_true", help="stop starting calls after the first failure")
    p.add_argument("--json-progress", action="store_true", help="print one JSON line per call on stdout (the summary goes to stderr)")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    _add_analysis_options(p)

    p = sub.add_parser("failures", parents=[common], help="list the calls a batch could not analyse",
                       description="List the files that failed in the batch folder DIR, with the reason. Exit 0 none, 1 some.")
    p.add_argument("dir", metavar="DIR", help="a batch output folder")
    p.add_argument("--all", action="store_true", help="also list failures that a later run resolved")
    p.add_argument("--detail", action="store_true", help="also print the error detail (traceback)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or one JSON object per line")

    p = sub.add_parser("export", parents=[common], help="write the catalog's tables as CSV or Parquet",
                       description="Write calls, components, events and turns of the batch folder DIR's catalog for BI tools.")
    p.add_argument("dir", metavar="DIR", help="a batch output folder")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)")
    p.add_argument("--to", metavar="FOLDER", help="where to write the files (default DIR/export)")


def cmd_batch(args: argparse.Namespace) -> int:
    import signal

    from .batch import BatchProgress, format_summary, run_batch

    cfg = config_from_args(args).with_overrides(
        {
            "batch.workers": args.workers,
            "batch.engine": args.engine or ("ray" if args.ray_address else None),
            "batch.ray_address": args.ray_address,
            "batch.name_pattern": args.name_pattern,
            "batch.archive_roots": args.archive_root,
        }
    )
    progress = BatchProgress(bar=args.progress or sys.stderr.isatty(), json_stream=sys.stdout if args.json_progress else None)

    def _terminate(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        summary = run_batch(args.inputs, args.out, cfg, force=args.force, limit=args.limit, fail_fast=args.fail_fast, observer=progress)
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted: finished calls are saved in {args.out}; run the same command again to continue", file=sys.stderr)
        return 130
    except ModelUnavailableError as exc:
        progress.close()
        print(f"error: {exc}; the batch stopped, no call was marked failed", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.close()
    print(format_summary(summary), file=sys.stderr if args.json_progress else sys.stdout)
    return 1 if summary.failed else 0


def cmd_failures(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .catalog import Catalog

    with Catalog.open(args.dir, readonly=True) as cat:
        rows = cat.failures(include_resolved=args.all)
    unresolved = [r for r in rows if r.resolved_at is None]
    if args.format == "json":
        for r in rows:
            d = asdict(r)
            if not args.detail:
                d.pop("detail")
            print(json.dumps(d))
        return 1 if unresolved else 0
    if not rows:
        print(f"no failures in {args.dir}")
        return 0
    for r in rows:
        state = f"resolved {r.resolved_at}" if r.resolved_at else f"failed {r.attempts} time(s), last {r.at}"
        print(f"{r.path}  [{state}]")
        print(f"  {r.reason}")
        if args.detail and r.detail:
            print("  " + r.detail.rstrip().replace("\n", "\n  "))
    print(f"{len(unresolved)} file(s) failed" + (f", {len(rows) - len(unresolved)} resolved" if args.all else "")
          + "; fix or remove them and run the batch again")
    return 1 if unresolved else 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_catalog

    for t in export_catalog(args.dir, args.format, args.to):
        print(f"{t.path}  ({t.rows} rows)")
    return 0


BATCH_COMMANDS = {"batch": cmd_batch, "failures": cmd_failures, "export": cmd_export}


if __name__ == "__main__":
    sys.exit(main())
