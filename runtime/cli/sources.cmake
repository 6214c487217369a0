# sources of runtime/cli
