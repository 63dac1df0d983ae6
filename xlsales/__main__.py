from xlsales.cli import main

main()
