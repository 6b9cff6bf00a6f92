from genman.cli import main

main()
