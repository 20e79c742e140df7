"""`python -m app` starts the server, like `convlens serve`."""

from app.cli import main

if __name__ == "__main__":
    main(["serve", *__import__("sys").argv[1:]])
