"""(described in the layout step)"""
