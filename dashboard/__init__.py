"""The MEMO Streamlit dashboard: ``streamlit run dashboard/app.py``."""
