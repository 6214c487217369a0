# sources of runtime/python
