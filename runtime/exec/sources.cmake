# sources of runtime/exec
