pytest_plugins = ["pclib.testing"]
