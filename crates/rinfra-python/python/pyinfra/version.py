# The pyinfra version whose API this implements.
__version__ = "3.10.0"
