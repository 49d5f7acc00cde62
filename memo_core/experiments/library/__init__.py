"""Whole collections: analyse a music library on Dask and keep the results as Parquet.

``store`` is the on-disk format and its readers/writers, ``analyse`` the Dask run,
``query`` DuckDB SQL over the tables and the CSV export, ``stored`` one song's stored results as an analysis, ``datasets`` the dataset songs among the sources.
"""
