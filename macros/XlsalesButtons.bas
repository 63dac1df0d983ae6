Attribute VB_Name = "XlsalesButtons"
' xlsales buttons: each Sub calls the same Python library the command line uses.
' Needs Python with xlsales installed; see README "In Excel".
Option Explicit

Sub ValidateTable()
    RunPython "import xlsales.excel.buttons as b; b.validate()"
End Sub

Sub RollupThisWeek()
    RunPython "import xlsales.excel.buttons as b; b.rollup_week()"
End Sub

Sub MonthlyReview()
    RunPython "import xlsales.excel.buttons as b; b.monthly_review()"
End Sub

Sub WeeklyAgenda()
    RunPython "import xlsales.excel.buttons as b; b.weekly_agenda()"
End Sub

Sub RefreshFollowUps()
    RunPython "import xlsales.excel.buttons as b; b.refresh_followups()"
End Sub

Sub SpotCheckToday()
    RunPython "import xlsales.excel.buttons as b; b.spot_check()"
End Sub

Sub ImportFunctions()
    ImportPythonUDFs
End Sub
