"""The ``motifscan`` click group, shared options and the one error path for every command.

Exit codes: 0 success; 1 a data error (a file's contents are wrong); 2 a usage error (the
command line is wrong); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). Problems print one
line, ``motifscan: error: ...``; a traceback only with ``--debug``.
"""

from __future__ import annotations

import errno
import importlib
import logging
from pathlib import Path
import signal
import sys
import traceback
from typing import Callable, Sequence

import click

from .._version import __version__
from ..atomic import output_set
from ..errors import DiskFullError, MotifscanError, UsageError

log = logging.getLogger("motifscan")

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "motifscan: warning: " if record.levelno >= logging.WARNING else "motifscan: "
        return prefix + record.getMessage()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be swapped, e.g. by tests)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


# The command line as invoked (recorded in model provenance).
invocation: list[str] = ["motifscan"]


def configure_logging(quiet: bool = False, debug: bool = False) -> None:
    """Log to stderr: INFO by default, WARNING with ``--quiet``, DEBUG with ``--debug``."""
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    logging.captureWarnings(True)
    wlog = logging.getLogger("py.warnings")
    wlog.handlers[:] = [handler]
    wlog.propagate = False


class _Commands(click.Group):
    """The commands, each module imported when its command runs (or ``--help`` lists them all): a
    command pays for its own imports only (``scan`` on a CPU never loads torch)."""

    #: command -> the module of :mod:`motifscan.cli` that defines it
    MODULES = {"attribute": "attribute", "calibrate": "calibrate", "compare": "compare", "enrich": "enrich",
               "evaluate": "train", "export": "export", "gather": "gather", "scan": "scan",
               "simulate": "simulate", "train": "train", "variants": "variants"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.MODULES:
            importlib.import_module(f"{__package__}.{self.MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="motifscan")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Find transcription-factor binding motifs with a shared-filter 1D CNN.

    \b
    Typical use:
      motifscan train peaks.fa -o model.h5
      motifscan scan model.h5 genome.fa.gz -o track.bw
      motifscan export model.h5 --sequences peaks.fa -o motifs.meme
      motifscan scan JASPAR.meme genome.fa.gz -o hits.tsv

    Exit codes: 0 ok, 1 bad input data, 2 bad command line, 130/143 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure_logging(debug=debug)


def quiet_option(func: Callable) -> Callable:
    """``--quiet``: only warnings and errors, no progress bar."""

    def apply(ctx, _param, value):
        if value:
            configure_logging(quiet=True, debug=(ctx.obj or {}).get("debug", False))
        return value

    return click.option(
        "-q", "--quiet", is_flag=True, expose_value=True, callback=apply, is_eager=True,
        help="Print only warnings and errors (no progress bar).",
    )(func)


def device_options(func: Callable) -> Callable:
    """``--device`` and ``--threads``."""
    func = click.option(
        "--threads", type=click.IntRange(min=0), default=0, show_default=True,
        help="CPU threads for torch (0: torch's default).",
    )(func)
    return click.option(
        "--device", default="auto", show_default=True,
        help="auto, cpu, cuda, cuda:N or mps (auto takes a GPU when there is one).",
    )(func)


def _raise_terminated(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``motifscan`` command; returns (and exits with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    invocation[:] = ["motifscan", *args]
    methods = sys.modules.get("motifscan.kernels.methods")
    if methods is not None:  # an earlier command in this process (tests): say the device line anew
        methods.forget_announcements()
    debug = "--debug" in args[: args.index("--") if "--" in args else len(args)]
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        previous = None
    code = 0
    try:
        # every file a command writes is one output set: all of them appear, or none does
        with output_set():
            result = cli.main(args=args, prog_name="motifscan", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except MotifscanError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"motifscan: error: {exc}", err=True)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:  # click's own usage errors: the same one-line form
        code = 2 if isinstance(exc, click.UsageError) else exc.exit_code
        if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):
            exc.show()  # a bare `motifscan` or group: the help text is the message
        else:
            text = " ".join(exc.format_message().split()).rstrip(".")
            ctx = getattr(exc, "ctx", None)
            if isinstance(exc, click.UsageError) and ctx is not None:
                text += f"; see '{ctx.command_path} --help'"
            click.echo(f"motifscan: error: {text}", err=True)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        cause = exc.__cause__ if isinstance(exc, click.exceptions.Abort) else None
        if isinstance(cause, EOFError):  # click turns an escaped EOFError into Abort: a bug, not Ctrl-C
            if debug:
                traceback.print_exception(cause)
            click.echo(
                f"motifscan: error: internal error: EOFError: {cause} "
                "(run with --debug for a traceback, and please report it)",
                err=True,
            )
            code = 1
        else:
            click.echo("motifscan: interrupted", err=True)
            code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        if code >= 128:
            click.echo("motifscan: terminated", err=True)
    except BrokenPipeError:
        code = 1
    except OSError as exc:  # the system refused (disk full, permissions, I/O error): not a bug
        if debug:
            traceback.print_exc()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) and exc.filename:
            click.echo(f"motifscan: error: {DiskFullError(exc.filename)}", err=True)
        else:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"motifscan: error: {where}{exc.strerror or exc}", err=True)
        code = 1
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"motifscan: error: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for a traceback, and please report it)",
            err=True,
        )
        code = 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return code


def task_inputs(positives, task_names, samplesheet, genome, negatives, *, what: str = "POSITIVES"):
    """One peak file (a path), or the tasks of a multi-task model (TaskSpecs), from the command line.

    Shared by train, evaluate and export: several peak files (names from ``--task-names`` or the
    file stems) or ``--samplesheet``; ``what`` names the peak files' argument in messages.
    """
    from ..data.tasks import task_specs, with_genome
    from ..io.samplesheet import read_samplesheet

    if samplesheet:
        if positives or task_names:
            raise UsageError(f"give {what} or --samplesheet, not both")
        if genome is not None and not Path(genome).exists():
            raise UsageError(f"input file not found: {genome}")
        return with_genome(read_samplesheet(samplesheet), genome)
    if not positives:
        raise UsageError(f"no {what} given", hint="give a peak file (FASTA or BED), several for a multi-task "
                                                  "model, or --samplesheet TSV")
    for p in (*positives, genome, negatives):
        if p is not None and p not in ("shuffle", "background") and not Path(p).exists():
            raise UsageError(f"input file not found: {p}")
    if len(positives) == 1 and not task_names:
        return positives[0]
    names = [n.strip() for n in task_names.split(",")] if task_names else None
    return task_specs(positives, names, negatives=negatives, genome=genome)
