"""The benchmark (`make bench`): seed a practice-sized dataset, serve it with gunicorn, load it."""
