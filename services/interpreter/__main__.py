from services.interpreter.service import main

if __name__ == "__main__":
    main()
