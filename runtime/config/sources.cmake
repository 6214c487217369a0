# sources of runtime/config
