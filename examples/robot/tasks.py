from robocorp.tasks import task


@task
def greet():
    print("hello from a robot task")
