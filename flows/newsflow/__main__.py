"""The `newsflow` command's entry point (and `python -m newsflow`).

The command's module is imported only when the command runs: the worker processes are spawned,
and a spawned process imports the script that started the run before its work, so this script
must not pull the command's libraries (Polars, Delta Lake, Typer) into every worker.
"""

import gc


def main() -> None:
    from newsflow.runtime.environment import prepare_process

    prepare_process()  # before the command's libraries are imported
    from newsflow.cli import app

    try:
        app()
    finally:
        # Spare the exit a last walk of the garbage collector over millions of objects (Prefect, the
        # model, Great Expectations): about 2 s of a short run.
        gc.freeze()


if __name__ == "__main__":
    main()
