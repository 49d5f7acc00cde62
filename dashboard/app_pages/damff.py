"""Placeholder: being written."""
import streamlit as st

st.title("damff")
st.info("This page is being written.")
