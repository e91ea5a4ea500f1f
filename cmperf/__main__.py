from cmperf.cli import main

main()
