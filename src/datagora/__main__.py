"""``python -m datagora``: the same command line as the ``datagora`` console script."""

from datagora.cli.main import app

if __name__ == "__main__":
    app(prog_name="datagora")
