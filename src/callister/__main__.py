from callister.cli.main import main

main()
