"""Streamlit widgets, state keys and components: the only package that imports streamlit."""
