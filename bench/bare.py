"""The baseline: a bare Flask app with one route, served exactly like Stepwise."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello from a bare Flask app.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
