from dialogkit.cli import main

main()
