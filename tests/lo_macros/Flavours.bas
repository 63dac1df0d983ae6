REM Test fixtures of xlsales (tests/flavours.py): add DataPilot (pivot) tables to
REM workbooks and save them as .xlsx, for their pivot table parts. Runs headless
REM from a private user profile:
REM   soffice --headless "vnd.sun.star.script:XlsalesFlavours.Flavours.Run?language=Basic&location=application"
REM The job comes from the UTF-8 text file named by $XLSALES_FLAVOUR_JOB, one
REM tab-separated command a line (indexes are 0-based):
REM   open    <path>
REM   sheet   <name>                       (a new sheet at the end)
REM   pivot   <name> <src sheet> <first col> <first row> <last col> <last row>
REM           <row field> <data field> <dst sheet> <dst col> <dst row>
REM                                        (the data field is summed)
REM   save    <path>                       (and close the document)
REM The macro writes "ok" or "error: ..." to the file named by $XLSALES_FLAVOUR_STATUS
REM and always ends LibreOffice.

Option Explicit

Sub Run
    Dim sStatus As String
    sStatus = "ok"
    On Error GoTo Failed
    RunJob(Environ("XLSALES_FLAVOUR_JOB"))
    GoTo Finish
Failed:
    sStatus = "error: line " & Erl & ": " & Error$
Finish:
    On Error Resume Next
    WriteStatus(Environ("XLSALES_FLAVOUR_STATUS"), sStatus)
    StarDesktop.terminate()
End Sub

Sub RunJob(sJob As String)
    Dim oAccess As Object, oStream As Object, oDoc As Object
    Dim sLine As String, aArg As Variant
    oAccess = createUnoService("com.sun.star.ucb.SimpleFileAccess")
    oStream = createUnoService("com.sun.star.io.TextInputStream")
    oStream.setInputStream(oAccess.openFileRead(ConvertToURL(sJob)))
    oStream.setEncoding("UTF-8")
    Do While Not oStream.isEOF()
        sLine = Replace(Replace(oStream.readLine(), Chr(13), ""), Chr(10), "")
        If Len(sLine) > 0 Then
            aArg = Split(sLine, Chr(9))
            Select Case aArg(0)
                Case "open"
                    oDoc = OpenDoc(aArg(1))
                Case "pivot"
                    AddPivot(oDoc, aArg)
                Case "sheet"
                    oDoc.Sheets.insertNewByName(aArg(1), oDoc.Sheets.getCount())
                Case "save"
                    SaveXlsx(oDoc, aArg(1))
                    oDoc.close(True)
                    oDoc = Nothing
                Case Else
                    Error 1000
            End Select
        End If
    Loop
    oStream.closeInput()
End Sub

Function OpenDoc(sPath As String) As Object
    Dim aProps(0) As New com.sun.star.beans.PropertyValue
    aProps(0).Name = "Hidden"
    aProps(0).Value = True
    OpenDoc = StarDesktop.loadComponentFromURL(ConvertToURL(sPath), "_blank", 0, aProps())
End Function

Sub AddPivot(oDoc As Object, aArg As Variant)
    Dim oSource As Object, oTables As Object, oDesc As Object, oField As Object
    Dim aDest As New com.sun.star.table.CellAddress
    oSource = oDoc.Sheets.getByIndex(CInt(aArg(2))).getCellRangeByPosition( _
        CLng(aArg(3)), CLng(aArg(4)), CLng(aArg(5)), CLng(aArg(6)))
    oTables = oDoc.Sheets.getByIndex(CInt(aArg(9))).getDataPilotTables()
    oDesc = oTables.createDataPilotDescriptor()
    oDesc.setSourceRange(oSource.getRangeAddress())
    oField = oDesc.getDataPilotFields().getByIndex(CLng(aArg(7)))
    oField.Orientation = com.sun.star.sheet.DataPilotFieldOrientation.ROW
    oField = oDesc.getDataPilotFields().getByIndex(CLng(aArg(8)))
    oField.Orientation = com.sun.star.sheet.DataPilotFieldOrientation.DATA
    oField.Function = com.sun.star.sheet.GeneralFunction.SUM
    aDest.Sheet = CInt(aArg(9))
    aDest.Column = CLng(aArg(10))
    aDest.Row = CLng(aArg(11))
    oTables.insertNewByName(aArg(1), aDest, oDesc)
End Sub

Sub SaveXlsx(oDoc As Object, sPath As String)
    Dim aProps(1) As New com.sun.star.beans.PropertyValue
    aProps(0).Name = "FilterName"
    aProps(0).Value = "Calc MS Excel 2007 XML"
    aProps(1).Name = "Overwrite"
    aProps(1).Value = True
    oDoc.storeToURL(ConvertToURL(sPath), aProps())
End Sub

Sub WriteStatus(sPath As String, sText As String)
    Dim oAccess As Object, oStream As Object
    If Len(sPath) = 0 Then Exit Sub
    oAccess = createUnoService("com.sun.star.ucb.SimpleFileAccess")
    If oAccess.exists(ConvertToURL(sPath)) Then oAccess.kill(ConvertToURL(sPath))
    oStream = createUnoService("com.sun.star.io.TextOutputStream")
    oStream.setOutputStream(oAccess.openFileWrite(ConvertToURL(sPath)))
    oStream.setEncoding("UTF-8")
    oStream.writeString(sText)
    oStream.closeOutput()
End Sub
