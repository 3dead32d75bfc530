"""The comparison study: functions the Snakemake workflow's scripts call.

Each function reads its inputs and seed from its arguments, writes tidy tables (CSV) or
DataTrees (netcdf), and shares no state with other jobs.
"""
