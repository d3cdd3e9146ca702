from cpor_excel.cli import main

main(prog_name="cpor-excel")
