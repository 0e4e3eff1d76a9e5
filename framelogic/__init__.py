"""framelogic"""
