from genman.fastcli import main

main()
