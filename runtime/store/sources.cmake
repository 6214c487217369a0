# sources of runtime/store
