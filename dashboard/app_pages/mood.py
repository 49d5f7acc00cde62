"""Placeholder: being written."""
import streamlit as st

st.title("mood")
st.info("This page is being written.")
