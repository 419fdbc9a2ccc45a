from commune.cli.main import app

app()
