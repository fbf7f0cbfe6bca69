@echo off
rem keap-token: prints a valid Keap access token by asking the running VS Code window.
rem Runs dist\keap-token.js with the extension host Node (VS Code run as Node), else node from PATH.
setlocal
set "KEAP_TOKEN_MAIN=%~dp0..\dist\keap-token.js"
if not defined KEAP_TOKEN_NODE goto plain
if not exist "%KEAP_TOKEN_NODE%" goto plain
set ELECTRON_RUN_AS_NODE=1
"%KEAP_TOKEN_NODE%" "%KEAP_TOKEN_MAIN%" %*
exit /b %ERRORLEVEL%
:plain
node "%KEAP_TOKEN_MAIN%" %*
exit /b %ERRORLEVEL%
