from redislog.cli import main

main()
