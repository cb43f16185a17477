"""fimad"""
