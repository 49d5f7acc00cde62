"""Placeholder: being written."""
import streamlit as st

st.title("multiscale")
st.info("This page is being written.")
