"""The ``callreview`` command.

Subcommands
-----------
analyze FILE...    analyse recordings, write ``<call-id>.json`` per call, print a summary
schema             print (or ``--write``) the JSON Schema of the report document

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
from .output import write_atomic, write_report
from .records import dump_report, json_schema
from .summary import format_summary

log = logging.getLogger("callreview")

SCHEMA_PATH = Path(__file__).parent / "schema" / "call_report.schema.json"
DEFAULT_OUT = "callreview-results"


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="configuration file (TOML); defaults work offline")
    p.add_argument("--model", metavar="M", help="faster-whisper model name or local directory (default tiny.en, bundled)")
    p.add_argument("--agent-channel", choices=["auto", "left", "right"], help="dual-channel calls: the agent's channel")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where ASR runs (default auto)")
    p.add_argument("--compute-type", metavar="T", help="CTranslate2 compute type (default: int8 on CPU, float16 on CUDA)")


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

    p = sub.add_parser("schema", parents=[common], help="print the JSON Schema of the report document")
    p.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_PATH.relative_to(Path(__file__).parent.parent)}")
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
    analyzer = Analyzer(cfg)
    failed = 0
    done = 0
    audio_seconds = 0.0
    t0 = time.perf_counter()
    for path in files:
        try:
            report = analyzer.analyze(path)
            out = write_report(report, args.out)
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


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.write:
        write_atomic(SCHEMA_PATH, text)
        print(f"wrote {SCHEMA_PATH}")
    else:
        sys.stdout.write(text)
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
        if args.command == "schema":
            return cmd_schema(args)
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


if __name__ == "__main__":
    sys.exit(main())
