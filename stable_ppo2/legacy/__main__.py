"""``python -m stable_ppo2.legacy SCRIPT [ARGS...]``: run a Stable-Baselines 2 script unchanged.

The script runs as ``__main__`` with ``sys.argv == [SCRIPT, ARGS...]`` and its folder first on
``sys.path``; ``stable_baselines`` imports resolve to stable_ppo2, and when the real ``gym`` package
is not installed ``import gym`` gives the old gym API over gymnasium (see ``stable_ppo2.legacy``).
"""
import sys

USAGE = """usage: python -m stable_ppo2.legacy [--gym {auto,compat,real}] SCRIPT [ARGS...]

Run a Stable-Baselines 2 script unchanged on stable_ppo2: `stable_baselines` imports resolve to
stable_ppo2 and `import gym` gives the old gym API over gymnasium (unless the real gym is installed).

  --gym auto     the compatibility gym when the real `gym` package is not installed (default)
  --gym compat   always the compatibility gym
  --gym real     never (the script gets the installed gym, or an ImportError)
"""


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    gym_choice = "auto"
    while argv and argv[0].startswith("-"):
        option = argv.pop(0)
        if option in ("-h", "--help"):
            print(USAGE, end="")
            sys.exit(0)
        if option == "--gym" and argv:
            gym_choice = argv.pop(0)
        elif option.startswith("--gym="):
            gym_choice = option.split("=", 1)[1]
        elif option == "--":
            break
        else:
            sys.stderr.write(f"unknown option {option}\n{USAGE}")
            sys.exit(2)
    if gym_choice not in ("auto", "compat", "real") or not argv:
        sys.stderr.write(USAGE)
        sys.exit(2)
    from stable_ppo2.legacy import run_script

    script, args = argv[0], argv[1:]
    try:
        run_script(script, args, gym={"auto": None, "compat": True, "real": False}[gym_choice])
    except FileNotFoundError as exc:
        if exc.filename is None and str(exc).startswith("no such script"):
            sys.stderr.write(f"python -m stable_ppo2.legacy: {exc}\n")
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
